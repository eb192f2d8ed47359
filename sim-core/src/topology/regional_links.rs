//! Calls to a database whose servers are in several regions (`replica_regions`): the
//! caller's region is known only at the call, the server's only once the database has
//! chosen one, so the link of such a call is a marker that names the caller's region, and
//! the database adds the trip to its chosen server and sets the answer's way back.

use super::{DatabaseConfig, NodeKind, Regions, Topology, NONE};

/// Link values from this one up (below `NONE`) are regional links: indices into
/// `Topology::regional_links`, past this offset.
pub const REGIONAL_LINK: u32 = 1 << 31;

/// A call from a node in a region to a database whose servers are in several regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionalLink {
    /// The caller's region: where the query comes from and its answer goes back to.
    pub from_region: u32,
    /// The latency sampler to the database node's own region (its first primary's), or
    /// `NONE`: the way of an answer the database gives before it chooses a server (a
    /// refusal at its door).
    pub to_node: u32,
}

/// Whether a link value is a regional link (one comparison: `NONE` wraps to 0).
#[inline(always)]
pub fn is_regional_link(link: u32) -> bool {
    link.wrapping_add(1) > REGIONAL_LINK
}

impl Topology {
    /// The caller's region behind a regional link value, or `None` for a plain link.
    #[inline]
    pub fn regional_link(&self, link: u32) -> Option<RegionalLink> {
        is_regional_link(link).then(|| self.regional_links[(link - REGIONAL_LINK) as usize])
    }

    /// The latency samplers of a query over `regional` to database `database`'s server in
    /// `server_region`, there and back: the caller's own link when the server is in the
    /// node's region, else the regions' latency.
    pub fn crossing_to_server(&self, regional: RegionalLink, database: usize, server_region: u32) -> (u32, u32) {
        if server_region == self.nodes[database].region {
            (regional.to_node, regional.to_node)
        } else {
            (
                self.regions.sampler(regional.from_region, server_region),
                self.regions.sampler(server_region, regional.from_region),
            )
        }
    }

    /// The latency sampler a link value stands for before a server is chosen: a plain
    /// link's own, a regional link's to the database node's region.
    pub fn plain_link(&self, link: u32) -> u32 {
        self.regional_link(link).map_or(link, |regional| regional.to_node)
    }
}

/// Marks, in the link table (`from * n + to`), each call from a node in a region to a
/// database with servers in several regions, and returns the marks' table. Explicit links
/// are given after this, and win: a caller with its own link to the database reaches every
/// server over it.
pub(crate) fn mark_regional_links(
    link_samplers: &mut [u32],
    kinds: &[&NodeKind],
    node_regions: &[u32],
) -> Vec<RegionalLink> {
    let n = kinds.len();
    let mut marks: Vec<RegionalLink> = Vec::new();
    for (to, kind) in kinds.iter().enumerate() {
        let NodeKind::Database(database) = kind else { continue };
        if database.server_regions.is_empty() {
            continue;
        }
        for from in (0..n).filter(|from| *from != to && node_regions[*from] != NONE) {
            let slot = from * n + to;
            let mark = RegionalLink { from_region: node_regions[from], to_node: link_samplers[slot] };
            let index = match marks.iter().position(|known| *known == mark) {
                Some(index) => index,
                None => {
                    marks.push(mark);
                    marks.len() - 1
                }
            };
            link_samplers[slot] = REGIONAL_LINK + index as u32;
        }
    }
    marks
}

impl DatabaseConfig {
    /// Per caller region, per server: how near the server's region is to the caller's (0
    /// for its own, then by mean latency), as `Nearest` reads rank them; empty when every
    /// server is in the node's region.
    pub fn region_ranks(&self, regions: &Regions) -> Vec<u32> {
        let mut ranks = Vec::new();
        if self.server_regions.is_empty() {
            return ranks;
        }
        for caller_region in 0..regions.names.len() as u32 {
            let order = regions.by_distance(caller_region);
            for server_region in &self.server_regions {
                ranks.push(order.iter().position(|r| r == server_region).unwrap_or(order.len()) as u32);
            }
        }
        ranks
    }
}
