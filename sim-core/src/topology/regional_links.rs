//! Calls to a database whose servers are in several regions (`replica_regions`): the
//! caller's region is known only at the call, the server's only once the database has
//! chosen one, so the link of such a call is a marker that names the caller's region, and
//! the database adds the trip to its chosen server and sets the answer's way back.

use super::{NodeKind, Topology, NONE};

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

impl Topology {
    /// The caller's region behind a regional link value, or `None` for a plain link.
    #[inline]
    pub fn regional_link(&self, link: u32) -> Option<RegionalLink> {
        (link != NONE && link >= REGIONAL_LINK).then(|| self.regional_links[(link - REGIONAL_LINK) as usize])
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
