//! Caches (cache-aside reads, write-through or invalidating writes) and CDNs (an edge cache
//! per region in front of an origin). Hit ratios emerge from the keys requests carry.

use super::cache_store::{CacheStore, Lookup};
use super::jobs::JobSpec;
use super::kernel::Kernel;
use super::keymap::KeyMap;
use super::node::{misrouted, Model, Span, Timer};
use super::requests::Outcome;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::report::{CacheReport, CdnReport, ComponentFigures, ComponentSection};
use crate::topology::{CacheConfig, CdnConfig, Topology, WritePolicy, NONE};
use indexmap::IndexMap;

/// What a cache frame is doing, kept in the frame's program counter.
const ANSWERING_HIT: u32 = 1;
const FINDING_MISS: u32 = 2;
const FILLING: u32 = 3;
const WRITING: u32 = 4;
/// A miss waiting for the fetch of its key that another miss started (single-flight).
const WAITING: u32 = 5;
/// A hit that probabilistic early expiration sends to the backend, past the miss time.
const FINDING_EARLY: u32 = 6;

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
    /// Of those, hits on an entry whose value was already stale when stored (the rest were
    /// outdated afterwards, by writes that did not pass through the cache).
    pub stale_when_stored: u64,
    pub writes: u64,
    pub invalidations: u64,
    /// Misses that waited for a fetch already under way.
    pub coalesced: u64,
    /// Fetched keys the admission policy kept out.
    pub not_admitted: u64,
    /// Hits on an expired entry within its stale-while-revalidate window.
    pub served_stale: u64,
    /// Background refreshes started by stale hits.
    pub revalidations: u64,
    /// Fetches that probabilistic early expiration started before the entry expired.
    pub early_refreshes: u64,
}

impl CacheCounters {
    /// Adds another edge's counters to these.
    pub fn add(&mut self, other: &CacheCounters) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.expired += other.expired;
        self.evictions += other.evictions;
        self.stale_reads += other.stale_reads;
        self.stale_when_stored += other.stale_when_stored;
        self.writes += other.writes;
        self.invalidations += other.invalidations;
        self.coalesced += other.coalesced;
        self.not_admitted += other.not_admitted;
        self.served_stale += other.served_stale;
        self.revalidations += other.revalidations;
        self.early_refreshes += other.early_refreshes;
    }
}

/// A cache in front of a backend.
#[derive(Debug)]
pub(crate) struct CacheModel<'t> {
    pub node: NodeId,
    pub config: &'t CacheConfig,
    pub store: CacheStore,
    pub counters: CacheCounters,
    /// Keys being fetched from the backend (with `coalesce`).
    fetching: KeyMap<()>,
    /// Misses waiting for a fetch under way: (key, frame), in arrival order.
    waiters: Vec<(u64, FrameId)>,
    /// Keys with a background refresh under way (stale-while-revalidate).
    revalidating: KeyMap<()>,
    /// Background refreshes by job id: (key, start in ns); `None` for a free slot.
    refreshes: Vec<Option<(u64, u64)>>,
    /// The data holders its misses read through: a hit is stale when a write committed at
    /// one of them after the entry's value was read.
    read_stores: Box<[NodeId]>,
}

/// A CDN: one cache store per edge, in front of an origin.
#[derive(Debug)]
pub(crate) struct CdnModel<'t> {
    pub node: NodeId,
    pub config: &'t CdnConfig,
    /// The region names of the edges, for the report.
    edge_names: Vec<String>,
    pub edges: Vec<CacheStore>,
    pub counters: Vec<CacheCounters>,
    /// The data holders its origin fetches read through.
    read_stores: Box<[NodeId]>,
}

impl<'t> CacheModel<'t> {
    pub fn new(topology: &Topology, node: NodeId, config: &'t CacheConfig) -> Self {
        Self {
            node,
            config,
            store: CacheStore::new(config.eviction, config.capacity, config.ttl_ns)
                .sliding(config.sliding_ttl)
                .admission(config.frequency_admission)
                .grace(config.stale_while_revalidate_ns),
            counters: CacheCounters::default(),
            fetching: KeyMap::default(),
            waiters: Vec::new(),
            revalidating: KeyMap::default(),
            refreshes: Vec::new(),
            read_stores: topology.stores_behind(config.backend).into(),
        }
    }
}

impl<'t> CdnModel<'t> {
    pub fn new(topology: &Topology, node: NodeId, config: &'t CdnConfig) -> Self {
        Self {
            node,
            config,
            edge_names: config
                .edge_regions
                .iter()
                .map(
                    |&region| {
                        if region == NONE {
                            "edge".to_string()
                        } else {
                            topology.regions.names[region as usize].clone()
                        }
                    },
                )
                .collect(),
            edges: config
                .edge_regions
                .iter()
                .map(|_| CacheStore::new(config.eviction, config.capacity, config.ttl_ns))
                .collect(),
            counters: vec![CacheCounters::default(); config.edge_regions.len()],
            read_stores: topology.stores_behind(config.origin).into(),
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
            Lookup::Hit { version } | Lookup::Stale { version } => {
                counters.hits += 1;
                counters.served_stale += matches!(lookup, Lookup::Stale { .. }) as u64;
                if version < latest {
                    counters.stale_reads += 1;
                    counters.stale_when_stored += store.stored_stale(key) as u64;
                }
            }
            Lookup::Miss | Lookup::Expired => {
                counters.misses += 1;
                counters.expired += (lookup == Lookup::Expired) as u64;
            }
        }
    }
    lookup
}

/// Stores `key` at `version` in `store` (marked stale when older than `latest`, the key's
/// latest version), counting an eviction when `measured`.
fn fill(
    store: &mut CacheStore,
    counters: &mut CacheCounters,
    key: u64,
    (version, latest): (u64, u64),
    now: u64,
    measured: bool,
) {
    let evicted = store.store(key, version, now);
    if version < latest {
        store.mark_stored_stale(key);
    }
    if measured {
        counters.evictions += evicted as u64;
    }
}

impl Model for CacheModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.enter_component(frame);
        let now = kernel.events.now_ns();
        let config = self.config;
        let request = kernel.frames[frame].request;
        let (key, class) = (kernel.requests[request].key, kernel.requests[request].class);
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        if config.write_classes.get(class as usize).copied().unwrap_or(false) {
            let removed = config.write_policy == WritePolicy::Invalidate && self.store.remove(key);
            if measured {
                self.counters.writes += 1;
                self.counters.invalidations += removed as u64;
            }
            kernel.frames[frame].pc = WRITING;
            kernel.call_node(frame, config.backend, InstanceId::NONE);
            return;
        }
        if self.refreshes_early(kernel, key, now) {
            // Probabilistic early expiration: this read refreshes the entry, as a miss.
            if measured {
                self.counters.misses += 1;
            }
            return self.delay_then(kernel, frame, config.miss_sampler, FINDING_EARLY);
        }
        let latest = kernel.latest_version_in(&self.read_stores, key);
        match look_up(&mut self.store, &mut self.counters, key, now, latest, measured) {
            Lookup::Hit { version } => {
                kernel.requests[request].read_version = version;
                self.delay_then(kernel, frame, config.hit_sampler, ANSWERING_HIT);
            }
            Lookup::Stale { version } => {
                kernel.requests[request].read_version = version;
                self.revalidate(kernel, frame, key, measured);
                self.delay_then(kernel, frame, config.hit_sampler, ANSWERING_HIT);
            }
            Lookup::Miss | Lookup::Expired => self.delay_then(kernel, frame, config.miss_sampler, FINDING_MISS),
        }
    }

    fn reply(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        let request = kernel.frames[frame].request;
        let key = kernel.requests[request].key;
        if let Some((outcome, cause)) = kernel.frames[frame].outcome {
            // A failed fetch fails the misses waiting for it too, as single-flight shares
            // its result.
            if kernel.frames[frame].pc == FILLING {
                self.release_waiters(kernel, key, NO_VERSION, outcome, cause);
            }
            self.finish(kernel, frame, outcome, cause);
            return;
        }
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        match kernel.frames[frame].pc {
            FILLING => {
                // Store what the backend returned: the version a database read reported,
                // else the latest committed one.
                let version = match kernel.requests[request].read_version {
                    NO_VERSION => kernel.latest_version_in(&self.read_stores, key),
                    version => version,
                };
                self.fill(kernel, key, version, now, measured);
                if self.config.early_expiration_beta.is_some() {
                    // XFetch's δ: how long this fetch took, from the read's arrival.
                    self.store.set_fetch_ns(key, now - kernel.frames[frame].arrived_ns);
                }
                self.release_waiters(kernel, key, version, Outcome::Completed, self.node);
            }
            WRITING => {
                // Without a database behind it, the backend's success is the commit.
                if !kernel.requests[request].committed {
                    kernel.commit_write(self.config.backend, key);
                    kernel.requests[request].committed = true;
                }
                match self.config.write_policy {
                    WritePolicy::WriteThrough => {
                        let version = kernel.latest_version_in(&self.read_stores, key);
                        self.fill(kernel, key, version, now, measured);
                    }
                    WritePolicy::InvalidateAfterWrite => {
                        let removed = self.store.remove(key);
                        if measured {
                            self.counters.invalidations += removed as u64;
                        }
                    }
                    WritePolicy::Invalidate => {}
                }
            }
            _ => return misrouted(kernel),
        }
        self.finish(kernel, frame, Outcome::Completed, self.node);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::Resume { frame } => self.resume(kernel, frame),
            Timer::PsDone { .. }
            | Timer::Visibility { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Promote
            | Timer::Reshard { .. }
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.leave_component(frame);
    }

    fn reset(&mut self, _now: u64) {
        self.counters = CacheCounters::default();
    }

    fn figures(&self, _topology: &Topology, _span: Span) -> ComponentFigures {
        ComponentFigures::section(ComponentSection::Cache(CacheReport {
            entries: self.store.len() as u64,
            ..self.counters.into()
        }))
    }
}

impl CacheModel<'_> {
    /// Stores `key`, with a lifetime of `ttl` times a jitter factor when the cache has one.
    fn fill(&mut self, kernel: &mut Kernel, key: u64, version: u64, now: u64, measured: bool) {
        let config = self.config;
        let refused_before = self.store.not_admitted;
        let evicted = match config.ttl_ns {
            Some(ttl_ns) if config.ttl_jitter > 0.0 => {
                let factor = 1.0 + config.ttl_jitter * (2.0 * kernel.routing_streams[self.node].open01() - 1.0);
                self.store.store_for(key, version, now, Some((ttl_ns as f64 * factor).round() as u64))
            }
            _ => self.store.store(key, version, now),
        };
        if version < kernel.latest_version_in(&self.read_stores, key) {
            self.store.mark_stored_stale(key);
        }
        if measured {
            self.counters.evictions += evicted as u64;
            self.counters.not_admitted += self.store.not_admitted - refused_before;
        }
    }

    /// Probabilistic early expiration (XFetch): whether a read of `key` at `now` refreshes
    /// its live entry, which it does when now − δ·β·ln(U) reaches the expiry.
    fn refreshes_early(&mut self, kernel: &mut Kernel, key: u64, now: u64) -> bool {
        let Some(beta) = self.config.early_expiration_beta else { return false };
        let Some((expires_ns, fetch_ns)) = self.store.expiry_of(key) else { return false };
        if expires_ns <= now || expires_ns == u64::MAX {
            return false;
        }
        let draw = kernel.routing_streams[self.node].open01();
        now as f64 - fetch_ns as f64 * beta * libm::log(draw) >= expires_ns as f64
    }

    /// A stale hit on `key`: unless one is under way, a refresh from the backend starts in
    /// the background, as a request of its own (the hit's class, client and region).
    fn revalidate(&mut self, kernel: &mut Kernel, frame: FrameId, key: u64, measured: bool) {
        if self.revalidating.contains_key(&key) {
            return;
        }
        self.revalidating.insert(key, ());
        let now = kernel.events.now_ns();
        let slot = match self.refreshes.iter().position(Option::is_none) {
            Some(slot) => slot,
            None => {
                self.refreshes.push(None);
                self.refreshes.len() - 1
            }
        };
        self.refreshes[slot] = Some((key, now));
        if measured {
            self.counters.revalidations += 1;
        }
        let hit = &kernel.requests[kernel.frames[frame].request];
        let spec = JobSpec { key, ..JobSpec::of(hit) };
        let refresh = kernel.start_job(self.node, self.config.backend, slot as u32, 0, spec);
        kernel.requests[refresh].read_version = NO_VERSION;
    }

    /// A background refresh is over: a successful one stores what the backend returned.
    pub(crate) fn revalidated(&mut self, kernel: &mut Kernel, slot: u32, outcome: Outcome, read_version: u64) {
        let Some((key, started_ns)) = self.refreshes.get_mut(slot as usize).and_then(Option::take) else {
            return misrouted(kernel);
        };
        self.revalidating.swap_remove(&key);
        if outcome != Outcome::Completed {
            return;
        }
        let now = kernel.events.now_ns();
        let version =
            if read_version == NO_VERSION { kernel.latest_version_in(&self.read_stores, key) } else { read_version };
        self.fill(kernel, key, version, now, kernel.measuring);
        if self.config.early_expiration_beta.is_some() {
            self.store.set_fetch_ns(key, now - started_ns);
        }
    }

    /// The fetch of `key` is over: the misses that waited for it get its answer.
    fn release_waiters(&mut self, kernel: &mut Kernel, key: u64, version: u64, outcome: Outcome, cause: NodeId) {
        if !self.config.coalesce || self.fetching.swap_remove(&key).is_none() {
            return;
        }
        let mut index = 0;
        while index < self.waiters.len() {
            if self.waiters[index].0 != key {
                index += 1;
                continue;
            }
            let (_, waiter) = self.waiters.remove(index);
            let request = kernel.frames[waiter].request;
            kernel.requests[request].read_version = version;
            self.finish(kernel, waiter, outcome, cause);
        }
    }

    /// Waits `sampler`'s time (if any), then resumes `frame` at `phase`.
    fn delay_then(&mut self, kernel: &mut Kernel, frame: FrameId, sampler: u32, phase: u32) {
        kernel.frames[frame].pc = phase;
        if sampler == NONE {
            self.resume(kernel, frame);
        } else {
            kernel.schedule_resume(frame, sampler);
        }
    }

    fn resume(&mut self, kernel: &mut Kernel, frame: FrameId) {
        match kernel.frames[frame].pc {
            ANSWERING_HIT => self.finish(kernel, frame, Outcome::Completed, self.node),
            phase @ (FINDING_MISS | FINDING_EARLY) => {
                let request = kernel.frames[frame].request;
                let key = kernel.requests[request].key;
                let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
                if self.config.coalesce {
                    if self.fetching.contains_key(&key) {
                        // Another miss is fetching this key: wait for its answer.
                        if measured {
                            self.counters.coalesced += 1;
                        }
                        kernel.frames[frame].pc = WAITING;
                        self.waiters.push((key, frame));
                        return;
                    }
                    self.fetching.insert(key, ());
                }
                if phase == FINDING_EARLY && measured {
                    self.counters.early_refreshes += 1;
                }
                kernel.requests[request].read_version = NO_VERSION;
                kernel.frames[frame].pc = FILLING;
                kernel.call_node(frame, self.config.backend, InstanceId::NONE);
            }
            _ => misrouted(kernel),
        }
    }
}

impl Model for CdnModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.enter_component(frame);
        let now = kernel.events.now_ns();
        let edge = self.edge_of(kernel, frame);
        kernel.frames[frame].instance = InstanceId::new(edge);
        let key = kernel.requests[kernel.frames[frame].request].key;
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        let hit_sampler = self.config.hit_sampler;
        let latest = kernel.latest_version_in(&self.read_stores, key);
        let (store, counters) = (&mut self.edges[edge as usize], &mut self.counters[edge as usize]);
        match look_up(store, counters, key, now, latest, measured) {
            Lookup::Hit { .. } | Lookup::Stale { .. } => self.delay_then(kernel, frame, hit_sampler, ANSWERING_HIT),
            _ => self.delay_then(kernel, frame, hit_sampler, FINDING_MISS),
        }
    }

    fn reply(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let now = kernel.events.now_ns();
        if let Some((outcome, cause)) = kernel.frames[frame].outcome {
            self.finish(kernel, frame, outcome, cause);
            return;
        }
        let request = kernel.frames[frame].request;
        let key = kernel.requests[request].key;
        let version = match kernel.requests[request].read_version {
            NO_VERSION => kernel.latest_version_in(&self.read_stores, key),
            version => version,
        };
        let edge = kernel.frames[frame].instance.index();
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        let latest = kernel.latest_version_in(&self.read_stores, key);
        fill(&mut self.edges[edge], &mut self.counters[edge], key, (version, latest), now, measured);
        self.finish(kernel, frame, Outcome::Completed, self.node);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::Resume { frame } => self.resume(kernel, frame),
            Timer::PsDone { .. }
            | Timer::Visibility { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Promote
            | Timer::Reshard { .. }
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.leave_component(frame);
    }

    fn reset(&mut self, _now: u64) {
        self.counters.iter_mut().for_each(|c| *c = CacheCounters::default());
    }

    /// All edges, and each edge by its region's name.
    fn figures(&self, _topology: &Topology, _span: Span) -> ComponentFigures {
        let mut total = CacheCounters::default();
        let mut edges = IndexMap::new();
        for (edge, counters) in self.counters.iter().enumerate() {
            total.add(counters);
            let report = CacheReport { entries: self.edges[edge].len() as u64, ..(*counters).into() };
            edges.insert(self.edge_names[edge].clone(), report);
        }
        let entries = self.edges.iter().map(|edge| edge.len() as u64).sum();
        ComponentFigures::section(ComponentSection::Cdn(CdnReport {
            total: CacheReport { entries, ..total.into() },
            edges,
        }))
    }
}

impl CdnModel<'_> {
    /// The edge serving `frame`'s request: the one for its client's region.
    fn edge_of(&self, kernel: &Kernel, frame: FrameId) -> u32 {
        let region = kernel.requests[kernel.frames[frame].request].region;
        if region == NONE {
            0
        } else {
            self.config.edge_of_region[region as usize]
        }
    }

    /// Waits `sampler`'s time (if any), then resumes `frame` at `phase`.
    fn delay_then(&mut self, kernel: &mut Kernel, frame: FrameId, sampler: u32, phase: u32) {
        kernel.frames[frame].pc = phase;
        if sampler == NONE {
            self.resume(kernel, frame);
        } else {
            kernel.schedule_resume(frame, sampler);
        }
    }

    fn resume(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let node = self.node;
        match kernel.frames[frame].pc {
            ANSWERING_HIT => self.finish(kernel, frame, Outcome::Completed, node),
            FINDING_MISS => {
                // The edge fetches from the origin across the network between their regions.
                let origin = self.config.origin;
                let link = kernel.link_from_instance(node, kernel.frames[frame].instance, origin);
                let request = kernel.frames[frame].request;
                kernel.requests[request].read_version = NO_VERSION;
                kernel.frames[frame].pc = FILLING;
                kernel.call_node_over(frame, origin, InstanceId::NONE, link);
            }
            _ => misrouted(kernel),
        }
    }
}
