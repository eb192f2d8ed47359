//! Caches (cache-aside reads, write-through or invalidating writes) and CDNs (an edge cache
//! per region in front of an origin). Hit ratios emerge from the keys requests carry.

use super::cache_store::{CacheStore, Lookup};
use super::requests::Outcome;
use super::{ComponentState, Simulation};
use crate::report::{CacheReport, CdnReport, ComponentSection};
use crate::topology::{CacheConfig, CdnConfig, NodeKind, Topology, WritePolicy, NONE};
use indexmap::IndexMap;

/// What a cache frame is doing, kept in the frame's program counter.
const ANSWERING_HIT: u32 = 1;
const FINDING_MISS: u32 = 2;
const FILLING: u32 = 3;
const WRITING: u32 = 4;

/// No read along the request's path has reported a version yet.
const NO_VERSION: u64 = u64::MAX;

/// Counters of one cache or CDN edge (after the warm-up).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CacheCounters {
    pub hits: u64,
    pub misses: u64,
    /// Misses because the entry had expired.
    pub expired: u64,
    pub evictions: u64,
    /// Hits that returned a value older than the key's latest committed write.
    pub stale_reads: u64,
    pub writes: u64,
    pub invalidations: u64,
}

impl CacheCounters {
    /// Adds another edge's counters to these.
    pub fn add(&mut self, other: &CacheCounters) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.expired += other.expired;
        self.evictions += other.evictions;
        self.stale_reads += other.stale_reads;
        self.writes += other.writes;
        self.invalidations += other.invalidations;
    }
}

/// Run-time state of a cache.
#[derive(Debug)]
pub(crate) struct CacheState {
    pub store: CacheStore,
    pub counters: CacheCounters,
}

/// Run-time state of a CDN: one store per edge.
#[derive(Debug)]
pub(crate) struct CdnState {
    pub edges: Vec<CacheStore>,
    pub counters: Vec<CacheCounters>,
}

impl CacheState {
    pub fn new(config: &CacheConfig) -> Self {
        Self {
            store: CacheStore::new(config.eviction, config.capacity, config.ttl_ns),
            counters: CacheCounters::default(),
        }
    }
}

impl CdnState {
    pub fn new(config: &CdnConfig) -> Self {
        Self {
            edges: config
                .edge_regions
                .iter()
                .map(|_| CacheStore::new(config.eviction, config.capacity, config.ttl_ns))
                .collect(),
            counters: vec![CacheCounters::default(); config.edge_regions.len()],
        }
    }
}

/// Looks `key` up in `store`, counting the hit or miss (and staleness against the key's
/// `latest` version) when the request is `measured`.
fn look_up(
    store: &mut CacheStore,
    counters: &mut CacheCounters,
    key: u64,
    now: u64,
    latest: u64,
    measured: bool,
) -> Lookup {
    let lookup = store.lookup(key, now);
    if measured {
        match lookup {
            Lookup::Hit { version } => {
                counters.hits += 1;
                counters.stale_reads += (version < latest) as u64;
            }
            Lookup::Miss | Lookup::Expired => {
                counters.misses += 1;
                counters.expired += (lookup == Lookup::Expired) as u64;
            }
        }
    }
    lookup
}

/// Stores `key` at `version` in `store`, counting an eviction when `measured`.
fn fill(store: &mut CacheStore, counters: &mut CacheCounters, key: u64, version: u64, now: u64, measured: bool) {
    let evicted = store.store(key, version, now);
    if measured {
        counters.evictions += evicted as u64;
    }
}

fn cache_config(topology: &Topology, node: u32) -> &CacheConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::Cache(config) => config,
        _ => unreachable!("node {node} is not a cache"),
    }
}

fn cdn_config(topology: &Topology, node: u32) -> &CdnConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::Cdn(config) => config,
        _ => unreachable!("node {node} is not a CDN"),
    }
}

impl Simulation<'_> {
    fn cache_state(&mut self, node: u32) -> &mut CacheState {
        match &mut self.components[node as usize] {
            ComponentState::Cache(state) => state,
            _ => unreachable!("node {node} is not a cache"),
        }
    }

    fn cdn_state(&mut self, node: u32) -> &mut CdnState {
        match &mut self.components[node as usize] {
            ComponentState::Cdn(state) => state,
            _ => unreachable!("node {node} is not a CDN"),
        }
    }

    /// The latest committed version of `key` (0 when never written).
    pub(crate) fn latest_version(&self, key: u64) -> u64 {
        self.key_versions.get(&key).copied().unwrap_or(0)
    }

    /// Commits a write of `key`: it gets the next version number.
    pub(crate) fn commit_write(&mut self, key: u64) -> u64 {
        self.commit_sequence += 1;
        self.key_versions.insert(key, self.commit_sequence);
        self.commit_sequence
    }

    /// Waits `sampler`'s time (if any), then resumes `frame` at `phase`.
    fn delay_then(&mut self, frame: u32, sampler: u32, phase: u32) {
        self.frames[frame].pc = phase;
        self.resume_after(frame, sampler);
    }

    pub(crate) fn cache_arrive(&mut self, frame: u32) {
        self.enter_component(frame);
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let config = cache_config(self.topology, node);
        let request = self.frames[frame].request;
        let (key, class) = (self.requests[request].key, self.requests[request].class);
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        if config.write_classes.get(class as usize).copied().unwrap_or(false) {
            let invalidate = config.write_policy == WritePolicy::Invalidate;
            let backend = config.backend;
            let state = self.cache_state(node);
            let removed = invalidate && state.store.remove(key);
            if measured {
                state.counters.writes += 1;
                state.counters.invalidations += removed as u64;
            }
            self.frames[frame].pc = WRITING;
            self.call_node(frame, backend, NONE);
            return;
        }
        let (hit_sampler, miss_sampler) = (config.hit_sampler, config.miss_sampler);
        let latest = self.latest_version(key);
        let state = self.cache_state(node);
        match look_up(&mut state.store, &mut state.counters, key, now, latest, measured) {
            Lookup::Hit { version } => {
                self.requests[request].read_version = version;
                self.delay_then(frame, hit_sampler, ANSWERING_HIT);
            }
            _ => self.delay_then(frame, miss_sampler, FINDING_MISS),
        }
    }

    pub(crate) fn cache_resume(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        match self.frames[frame].pc {
            ANSWERING_HIT => self.finish_frame(frame, Outcome::Completed, node),
            FINDING_MISS => {
                let request = self.frames[frame].request;
                self.requests[request].read_version = NO_VERSION;
                self.frames[frame].pc = FILLING;
                let backend = cache_config(self.topology, node).backend;
                self.call_node(frame, backend, NONE);
            }
            phase => unreachable!("cache frame resumed in phase {phase}"),
        }
    }

    pub(crate) fn cache_reply(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        if let Some((outcome, cause)) = self.frames[frame].outcome {
            self.finish_frame(frame, outcome, cause);
            return;
        }
        let request = self.frames[frame].request;
        let key = self.requests[request].key;
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        match self.frames[frame].pc {
            FILLING => {
                // Store what the backend returned: the version a database read reported,
                // else the latest committed one.
                let version = match self.requests[request].read_version {
                    NO_VERSION => self.latest_version(key),
                    version => version,
                };
                let state = self.cache_state(node);
                fill(&mut state.store, &mut state.counters, key, version, now, measured);
            }
            WRITING => {
                // Without a database behind it, the backend's success is the commit.
                if !self.requests[request].committed {
                    self.commit_write(key);
                    self.requests[request].committed = true;
                }
                if cache_config(self.topology, node).write_policy == WritePolicy::WriteThrough {
                    let version = self.latest_version(key);
                    let state = self.cache_state(node);
                    fill(&mut state.store, &mut state.counters, key, version, now, measured);
                }
            }
            phase => unreachable!("cache frame replied in phase {phase}"),
        }
        self.finish_frame(frame, Outcome::Completed, node);
    }

    /// The edge serving `frame`'s request: the one for its client's region.
    fn cdn_edge(&self, frame: u32) -> u32 {
        let config = cdn_config(self.topology, self.frames[frame].node);
        let region = self.requests[self.frames[frame].request].region;
        if region == NONE {
            0
        } else {
            config.edge_of_region[region as usize]
        }
    }

    pub(crate) fn cdn_arrive(&mut self, frame: u32) {
        self.enter_component(frame);
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let edge = self.cdn_edge(frame);
        self.frames[frame].instance = edge;
        let key = self.requests[self.frames[frame].request].key;
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let hit_sampler = cdn_config(self.topology, node).hit_sampler;
        let latest = self.latest_version(key);
        let state = self.cdn_state(node);
        let (store, counters) = (&mut state.edges[edge as usize], &mut state.counters[edge as usize]);
        match look_up(store, counters, key, now, latest, measured) {
            Lookup::Hit { .. } => self.delay_then(frame, hit_sampler, ANSWERING_HIT),
            _ => self.delay_then(frame, hit_sampler, FINDING_MISS),
        }
    }

    pub(crate) fn cdn_resume(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        match self.frames[frame].pc {
            ANSWERING_HIT => self.finish_frame(frame, Outcome::Completed, node),
            FINDING_MISS => {
                // The edge fetches from the origin across the network between their regions.
                let config = cdn_config(self.topology, node);
                let edge_region = config.edge_regions[self.frames[frame].instance as usize];
                let origin = config.origin;
                let origin_region = self.topology.nodes[origin as usize].region;
                let link = match self.topology.regions.sampler(edge_region, origin_region) {
                    NONE => self.topology.link(node, origin),
                    sampler => sampler,
                };
                let request = self.frames[frame].request;
                self.requests[request].read_version = NO_VERSION;
                self.frames[frame].pc = FILLING;
                self.call_node_over(frame, origin, NONE, link);
            }
            phase => unreachable!("CDN frame resumed in phase {phase}"),
        }
    }

    pub(crate) fn cdn_reply(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        if let Some((outcome, cause)) = self.frames[frame].outcome {
            self.finish_frame(frame, outcome, cause);
            return;
        }
        let request = self.frames[frame].request;
        let key = self.requests[request].key;
        let version = match self.requests[request].read_version {
            NO_VERSION => self.latest_version(key),
            version => version,
        };
        let edge = self.frames[frame].instance as usize;
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let state = self.cdn_state(node);
        fill(&mut state.edges[edge], &mut state.counters[edge], key, version, now, measured);
        self.finish_frame(frame, Outcome::Completed, node);
    }
}

impl CacheState {
    /// The cache's report section.
    pub(crate) fn report(&self) -> ComponentSection {
        ComponentSection::Cache(CacheReport { entries: self.store.len() as u64, ..self.counters.into() })
    }
}

impl CdnState {
    /// The CDN's report section: all edges, and each edge by its region's name.
    pub(crate) fn report(&self, topology: &Topology, node: u32) -> ComponentSection {
        let config = cdn_config(topology, node);
        let mut total = CacheCounters::default();
        let mut edges = IndexMap::new();
        for (edge, counters) in self.counters.iter().enumerate() {
            total.add(counters);
            let region = config.edge_regions[edge];
            let name =
                if region == NONE { "edge".to_string() } else { topology.regions.names[region as usize].clone() };
            edges.insert(name, CacheReport { entries: self.edges[edge].len() as u64, ..(*counters).into() });
        }
        ComponentSection::Cdn(CdnReport { total: total.into(), edges })
    }
}
