//! archsim side by side with a hand-written event loop (plain, and making the figures
//! archsim's report gives) and SimCore (the DSLab framework's
//! `simcore` crate; the model written three times: as one component running the loop's
//! logic, as a component per node exchanging events, as DSLab models are built, and the
//! same making the report's figures, in `peers/simcore_report.rs`) on the same models,
//! in one process on one machine, runs interleaved:
//! M/M/1 and M/M/4 at ρ = 0.9, and `benches/models/web.ron` (a zero-time round-robin
//! balancer over 4 single-worker apps, then a cache or a database). One million customers
//! each; the median of `--runs` runs (default 5). With `--simpy PYTHON`, SimPy 4 runs each
//! model once through `benches/simpy/models.py`, and its ratio is printed beside.
//!
//! `cargo bench -p archsim-benches --bench peers [-- --runs 9 --simpy target/py-venv/bin/python]`
//! (add model names, such as `-- mm1 web`, to run only those; `--only loop` runs only one of
//! `archsim`, `loop`, `loop-report`, `simcore`, `simcore-nodes` and `simcore-nodes-report`,
//! as a profiler or an instruction counter wants it)
//!
//! The implementations share nothing but the model: each draws its own random
//! numbers, and each mean latency is printed so that a reader can see they are the same
//! system (they agree within their sampling noise). The loop and SimCore keep each
//! customer's latency in a histogram (percentiles, as a capacity question needs); archsim
//! makes its whole report (latency end to end and per node, waits, occupancy, the
//! backlog trend), which costs more per customer. The loop with the report makes those
//! figures by hand for the one model it runs, so that the cost of the figures and the cost
//! of a general engine can be told apart; SimCore per node making them sets archsim beside a
//! framework model that gives the same answers.

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::Serialize;
use sim_core::{parse_topology, RunConfig, Simulation, StopCondition};
use simcore::{cast, Event as SimcoreEvent, EventHandler, SimulationContext};
use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;
use std::time::Instant;

#[path = "peers/simcore_report.rs"]
mod simcore_report;

const CUSTOMERS: u64 = 1_000_000;

/// A queueing network the three implementations run: stations of FIFO servers, Poisson
/// arrivals to the first stage, and the route a customer takes after each station.
#[derive(Clone, Copy)]
enum Model {
    /// One station of `servers` servers, Exp(1 s) service, Poisson arrivals at `rate_per_s`.
    Mmc { servers: u32, rate_per_s: f64 },
    /// 800/s into 4 single-server apps in rotation (Exp 4 ms), then a cache (8 servers, Exp
    /// 200 µs) with probability 0.7, else a database (16 servers, LogNormal 10 ms / 5 ms).
    Web,
}

/// A station's service time, in seconds.
#[derive(Clone, Copy)]
enum Service {
    Exp(f64),
    LogNormal { mu: f64, sigma: f64 },
}

impl Service {
    fn lognormal(mean: f64, sd: f64) -> Self {
        let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
        Service::LogNormal { mu: mean.ln() - sigma2 / 2.0, sigma: sigma2.sqrt() }
    }

    fn draw(self, uniform: &mut impl FnMut() -> f64) -> f64 {
        match self {
            Service::Exp(mean) => -mean * (1.0 - uniform()).ln(),
            Service::LogNormal { mu, sigma } => {
                // Box–Muller.
                let (u1, u2) = (1.0 - uniform(), uniform());
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                (mu + sigma * z).exp()
            }
        }
    }
}

/// The stations of a model: (servers, service), and its arrival rate.
fn stations(model: Model) -> (Vec<(u32, Service)>, f64) {
    match model {
        Model::Mmc { servers, rate_per_s } => (vec![(servers, Service::Exp(1.0))], rate_per_s),
        Model::Web => {
            let mut stations = vec![(1, Service::Exp(0.004)); 4];
            stations.push((8, Service::Exp(0.0002)));
            stations.push((16, Service::lognormal(0.010, 0.005)));
            (stations, 800.0)
        }
    }
}

/// A time in seconds (as the samplers and SimCore give it) in integer ns, as archsim keeps
/// time.
fn ns(seconds: f64) -> u64 {
    (seconds * 1e9).round() as u64
}

/// Where a customer goes after `station`: the next station, or `None` when it is done.
fn next_station(model: Model, station: usize, uniform: &mut impl FnMut() -> f64) -> Option<usize> {
    match model {
        Model::Mmc { .. } => None,
        Model::Web if station < 4 => Some(if uniform() < 0.7 { 4 } else { 5 }),
        Model::Web => None,
    }
}

/// A station's state: busy servers and the customers (their arrival times) waiting.
#[derive(Default)]
struct Station {
    busy: u32,
    waiting: VecDeque<f64>,
}

// ---------------------------------------------------------------- the hand-written loop

/// What the hand-written loop schedules.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LoopEvent {
    Arrival,
    /// A customer (created at `born_ns`) ends service at `station`.
    Departure {
        station: u32,
        born_ns: u64,
    },
}

/// A histogram of latencies in ns, three significant digits (as archsim's).
fn latency_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("valid histogram")
}

/// The loop a careful programmer writes for this one model: a binary heap of (time in ns,
/// sequence, event), integer time, no allocation per event. Returns the mean latency (s).
fn hand_written(model: Model, seed: u64) -> f64 {
    let (specs, rate_per_s) = stations(model);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut uniform = move || rng.gen::<f64>();
    let mut stations: Vec<Station> = specs.iter().map(|_| Station::default()).collect();
    let mut heap: BinaryHeap<Reverse<(u64, u64, LoopEvent)>> = BinaryHeap::with_capacity(1024);
    let mut sequence = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, at_ns: u64, event: LoopEvent| {
        sequence += 1;
        heap.push(Reverse((at_ns, sequence, event)));
    };
    let (mut created, mut done, mut latency_sum_ns, mut next_app) = (0u64, 0u64, 0u128, 0usize);
    let mut latencies = latency_histogram();
    push(&mut heap, ns(Service::Exp(1.0 / rate_per_s).draw(&mut uniform)), LoopEvent::Arrival);
    while let Some(Reverse((now, _, event))) = heap.pop() {
        let (station, born_ns) = match event {
            LoopEvent::Arrival => {
                created += 1;
                if created < CUSTOMERS {
                    let gap = ns(Service::Exp(1.0 / rate_per_s).draw(&mut uniform));
                    push(&mut heap, now + gap, LoopEvent::Arrival);
                }
                let first = match model {
                    Model::Web => {
                        next_app = (next_app + 1) % 4;
                        next_app
                    }
                    Model::Mmc { .. } => 0,
                };
                (first, now)
            }
            LoopEvent::Departure { station, born_ns } => {
                let station = station as usize;
                let slot = &mut stations[station];
                if let Some(waiting_born_ns) = slot.waiting.pop_front() {
                    let service = ns(specs[station].1.draw(&mut uniform));
                    let departure = LoopEvent::Departure { station: station as u32, born_ns: waiting_born_ns as u64 };
                    push(&mut heap, now + service, departure);
                } else {
                    slot.busy -= 1;
                }
                match next_station(model, station, &mut uniform) {
                    Some(next) => (next, born_ns),
                    None => {
                        done += 1;
                        latency_sum_ns += (now - born_ns) as u128;
                        latencies.record(now - born_ns).expect("a latency in range");
                        continue;
                    }
                }
            }
        };
        let slot = &mut stations[station];
        if slot.busy < specs[station].0 {
            slot.busy += 1;
            let service = ns(specs[station].1.draw(&mut uniform));
            push(&mut heap, now + service, LoopEvent::Departure { station: station as u32, born_ns });
        } else {
            slot.waiting.push_back(born_ns as f64);
        }
    }
    assert_eq!(done, CUSTOMERS);
    assert!(latencies.value_at_quantile(0.99) > 0);
    latency_sum_ns as f64 / done as f64 / 1e9
}

// ---------------------------------------------------------------- the loop, with the report

/// A distribution of durations as archsim's report keeps one: zeros apart, the rest in a
/// histogram, with the exact sum and maximum.
struct Durations {
    histogram: Histogram<u64>,
    zeros: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Durations {
    fn new(digits: u8) -> Self {
        Self { histogram: Histogram::new(digits).expect("valid histogram"), zeros: 0, sum_ns: 0, max_ns: 0 }
    }

    #[inline]
    fn record(&mut self, ns: u64) {
        if ns == 0 {
            self.zeros += 1;
            return;
        }
        self.histogram.record(ns).expect("a duration in range");
        self.sum_ns += ns as u128;
        self.max_ns = self.max_ns.max(ns);
    }
}

/// What archsim's report gives of a station, kept as a careful programmer would: counts,
/// time integrals of busy servers, waiting and present customers, the time spent at each
/// occupancy and with every server busy, waits and sojourns (two significant digits, as
/// archsim's per-node figures), and the slowdown's sum and maximum.
struct StationFigures {
    servers: u32,
    busy: u32,
    /// Each waiting customer: when it arrived at the station, when it was created, and the
    /// work it demanded before.
    waiting: VecDeque<(u64, u64, u64)>,
    arrivals: u64,
    completions: u64,
    last_change_ns: u64,
    busy_area: u128,
    queue_area: u128,
    in_system_area: u128,
    occupancy_ns: [u64; 64],
    all_busy_ns: u64,
    waits: Durations,
    sojourns: Durations,
    slowdown_sum: f64,
    slowdown_max: f64,
}

impl StationFigures {
    fn new(servers: u32) -> Self {
        Self {
            servers,
            busy: 0,
            waiting: VecDeque::new(),
            arrivals: 0,
            completions: 0,
            last_change_ns: 0,
            busy_area: 0,
            queue_area: 0,
            in_system_area: 0,
            occupancy_ns: [0; 64],
            all_busy_ns: 0,
            waits: Durations::new(2),
            sojourns: Durations::new(2),
            slowdown_sum: 0.0,
            slowdown_max: 0.0,
        }
    }

    /// Integrates the levels up to `now`.
    #[inline]
    fn advance(&mut self, now: u64) {
        let elapsed = now - self.last_change_ns;
        if elapsed > 0 {
            let (busy, queued) = (self.busy as u128, self.waiting.len() as u128);
            self.busy_area += busy * elapsed as u128;
            self.queue_area += queued * elapsed as u128;
            self.in_system_area += (busy + queued) * elapsed as u128;
            self.occupancy_ns[((busy + queued) as usize).min(63)] += elapsed;
            self.all_busy_ns += elapsed * u64::from(self.busy >= self.servers);
            self.last_change_ns = now;
        }
    }
}

/// The hand-written loop of `hand_written`, making the figures archsim's report gives of
/// these models: per station its counts, time integrals, occupancy, waits, sojourns and
/// slowdowns; end to end the latency and slowdown distributions (three digits); and for the
/// web model the balancer's counts and sojourns. What the report's figures cost when the
/// loop that makes them is written by hand for one model. Returns the mean latency (s).
fn hand_written_report(model: Model, seed: u64) -> f64 {
    /// A customer's service ends: the station, when the customer was created, when it
    /// reached the station, the work it demanded so far (this service's included) and this
    /// service's.
    #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Event {
        Arrival,
        Departure { station: u32, born_ns: u64, reached_ns: u64, demand_ns: u64, service_ns: u64 },
    }
    let (specs, rate_per_s) = stations(model);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut uniform = move || rng.gen::<f64>();
    let mut figures: Vec<StationFigures> = specs.iter().map(|(servers, _)| StationFigures::new(*servers)).collect();
    let mut heap: BinaryHeap<Reverse<(u64, u64, Event)>> = BinaryHeap::with_capacity(1024);
    let mut sequence = 0u64;
    let mut push = |heap: &mut BinaryHeap<_>, at_ns: u64, event: Event| {
        sequence += 1;
        heap.push(Reverse((at_ns, sequence, event)));
    };
    let (mut created, mut completed, mut next_app) = (0u64, 0u64, 0usize);
    let (mut latencies, mut slowdowns, mut slowdown_sum) = (Durations::new(3), Durations::new(3), 0.0f64);
    let (mut balancer_arrivals, mut balancer_sojourns) = (0u64, Durations::new(2));
    push(&mut heap, ns(Service::Exp(1.0 / rate_per_s).draw(&mut uniform)), Event::Arrival);
    while let Some(Reverse((now, _, event))) = heap.pop() {
        let (station, born_ns, demand_ns) = match event {
            Event::Arrival => {
                created += 1;
                if created < CUSTOMERS {
                    let gap = ns(Service::Exp(1.0 / rate_per_s).draw(&mut uniform));
                    push(&mut heap, now + gap, Event::Arrival);
                }
                let first = match model {
                    Model::Web => {
                        balancer_arrivals += 1;
                        next_app = (next_app + 1) % 4;
                        next_app
                    }
                    Model::Mmc { .. } => 0,
                };
                (first, now, 0)
            }
            Event::Departure { station, born_ns, reached_ns, demand_ns, service_ns } => {
                let station = station as usize;
                let spec = specs[station];
                let slot = &mut figures[station];
                slot.advance(now);
                slot.completions += 1;
                let sojourn_ns = now - reached_ns;
                slot.sojourns.record(sojourn_ns);
                let slowdown = sojourn_ns as f64 / service_ns.max(1) as f64;
                slot.slowdown_sum += slowdown;
                slot.slowdown_max = slot.slowdown_max.max(slowdown);
                if let Some((waiting_reached_ns, waiting_born_ns, waiting_demand_ns)) = slot.waiting.pop_front() {
                    slot.waits.record(now - waiting_reached_ns);
                    let service = ns(spec.1.draw(&mut uniform));
                    let departure = Event::Departure {
                        station: station as u32,
                        born_ns: waiting_born_ns,
                        reached_ns: waiting_reached_ns,
                        demand_ns: waiting_demand_ns + service,
                        service_ns: service,
                    };
                    push(&mut heap, now + service, departure);
                } else {
                    slot.busy -= 1;
                }
                match next_station(model, station, &mut uniform) {
                    Some(next) => (next, born_ns, demand_ns),
                    None => {
                        completed += 1;
                        let latency_ns = now - born_ns;
                        latencies.record(latency_ns);
                        let slowdown = latency_ns as f64 / demand_ns.max(1) as f64;
                        slowdown_sum += slowdown;
                        slowdowns.record(((slowdown * 1000.0) as u64).max(1));
                        if matches!(model, Model::Web) {
                            balancer_sojourns.record(latency_ns);
                        }
                        continue;
                    }
                }
            }
        };
        let spec = specs[station];
        let slot = &mut figures[station];
        slot.advance(now);
        slot.arrivals += 1;
        if slot.busy < spec.0 {
            slot.busy += 1;
            slot.waits.record(0);
            let service = ns(spec.1.draw(&mut uniform));
            let departure = Event::Departure {
                station: station as u32,
                born_ns,
                reached_ns: now,
                demand_ns: demand_ns + service,
                service_ns: service,
            };
            push(&mut heap, now + service, departure);
        } else {
            slot.waiting.push_back((now, born_ns, demand_ns));
        }
    }
    assert_eq!(completed, CUSTOMERS);
    assert!(latencies.histogram.value_at_quantile(0.99) > 0 && slowdowns.histogram.len() == CUSTOMERS);
    // The figures are made to be read: kept from the optimizer as a report would read them.
    std::hint::black_box((&figures, &slowdowns, slowdown_sum, balancer_arrivals, &balancer_sojourns));
    latencies.sum_ns as f64 / completed as f64 / 1e9
}

// ---------------------------------------------------------------- SimCore

#[derive(Clone, Serialize)]
struct Arrival {}

#[derive(Clone, Serialize)]
struct Departure {
    station: u32,
    born: f64,
}

/// The model as one SimCore component running the hand-written loop's logic: events are
/// typed payloads emitted to the component itself with a delay. (The least SimCore can do
/// per customer; `simcore_nodes_run` builds the model as DSLab models are built.)
struct SimcoreModel {
    model: Model,
    specs: Vec<(u32, Service)>,
    rate_per_s: f64,
    stations: Vec<Station>,
    ctx: SimulationContext,
    created: u64,
    done: u64,
    latency_sum: f64,
    latencies: Histogram<u64>,
    next_app: usize,
}

impl SimcoreModel {
    fn uniform(&self) -> f64 {
        self.ctx.rand()
    }

    fn enter(&mut self, station: usize, born: f64) {
        let ctx = &self.ctx;
        let slot = &mut self.stations[station];
        if slot.busy < self.specs[station].0 {
            slot.busy += 1;
            let service = self.specs[station].1.draw(&mut || ctx.rand());
            ctx.emit_self(Departure { station: station as u32, born }, service);
        } else {
            slot.waiting.push_back(born);
        }
    }
}

impl EventHandler for SimcoreModel {
    fn on(&mut self, event: SimcoreEvent) {
        cast!(match event.data {
            Arrival {} => {
                let now = self.ctx.time();
                self.created += 1;
                if self.created < CUSTOMERS {
                    let ctx = &self.ctx;
                    let gap = Service::Exp(1.0 / self.rate_per_s).draw(&mut || ctx.rand());
                    ctx.emit_self(Arrival {}, gap);
                }
                let first = match self.model {
                    Model::Web => {
                        self.next_app = (self.next_app + 1) % 4;
                        self.next_app
                    }
                    Model::Mmc { .. } => 0,
                };
                self.enter(first, now);
            }
            Departure { station, born } => {
                let now = self.ctx.time();
                let station = station as usize;
                if let Some(waiting_born) = self.stations[station].waiting.pop_front() {
                    let ctx = &self.ctx;
                    let service = self.specs[station].1.draw(&mut || ctx.rand());
                    ctx.emit_self(Departure { station: station as u32, born: waiting_born }, service);
                } else {
                    self.stations[station].busy -= 1;
                }
                let model = self.model;
                let mut uniform = || self.uniform();
                match next_station(model, station, &mut uniform) {
                    Some(next) => self.enter(next, born),
                    None => {
                        self.done += 1;
                        self.latency_sum += now - born;
                        let latency_ns = ((now - born) * 1e9) as u64;
                        self.latencies.record(latency_ns).expect("a latency in range");
                    }
                }
            }
        })
    }
}

fn simcore_run(model: Model, seed: u64) -> f64 {
    let (specs, rate_per_s) = stations(model);
    let mut simulation = simcore::Simulation::new(seed);
    let ctx = simulation.create_context("model");
    let stations_state = specs.iter().map(|_| Station::default()).collect();
    let component = Rc::new(RefCell::new(SimcoreModel {
        model,
        specs,
        rate_per_s,
        stations: stations_state,
        ctx,
        created: 0,
        done: 0,
        latency_sum: 0.0,
        latencies: latency_histogram(),
        next_app: 0,
    }));
    simulation.add_handler("model", component.clone());
    {
        let first = component.borrow();
        let gap = Service::Exp(1.0 / rate_per_s).draw(&mut || first.ctx.rand());
        first.ctx.emit_self(Arrival {}, gap);
    }
    simulation.step_until_no_events();
    let component = component.borrow();
    assert_eq!(component.done, CUSTOMERS);
    assert!(component.latencies.value_at_quantile(0.99) > 0);
    component.latency_sum / component.done as f64
}

// ---------------------------------------------------------------- SimCore, a component per node

/// A customer reaching a node (SimCore, a component per node): when it was created.
#[derive(Clone, Serialize)]
struct Request {
    born: f64,
}

/// A customer's service at a station ends.
#[derive(Clone, Serialize)]
struct ServiceDone {
    born: f64,
}

/// The answer reaching the clients.
#[derive(Clone, Serialize)]
struct Response {
    born: f64,
}

/// The clients: Poisson arrivals sent to the entry node, answers recorded.
struct ClientNode {
    ctx: SimulationContext,
    entry: simcore::Id,
    rate_per_s: f64,
    created: u64,
    done: u64,
    latency_sum: f64,
    latencies: Histogram<u64>,
}

impl EventHandler for ClientNode {
    fn on(&mut self, event: SimcoreEvent) {
        cast!(match event.data {
            Arrival {} => {
                self.created += 1;
                if self.created < CUSTOMERS {
                    let ctx = &self.ctx;
                    let gap = Service::Exp(1.0 / self.rate_per_s).draw(&mut || ctx.rand());
                    ctx.emit_self(Arrival {}, gap);
                }
                self.ctx.emit_ordered_now(Request { born: self.ctx.time() }, self.entry);
            }
            Response { born } => {
                let latency = self.ctx.time() - born;
                self.done += 1;
                self.latency_sum += latency;
                self.latencies.record((latency * 1e9) as u64).expect("a latency in range");
            }
        })
    }
}

/// A zero-time round-robin balancer.
struct BalancerNode {
    ctx: SimulationContext,
    targets: Vec<simcore::Id>,
    next: usize,
}

impl EventHandler for BalancerNode {
    fn on(&mut self, event: SimcoreEvent) {
        cast!(match event.data {
            Request { born } => {
                self.next = (self.next + 1) % self.targets.len();
                self.ctx.emit_ordered_now(Request { born }, self.targets[self.next]);
            }
        })
    }
}

/// Where a station sends a customer it has served.
enum Route {
    /// Answer the clients.
    Answer(simcore::Id),
    /// Hand it on to the first node with probability `p`, else to the second.
    Forward { p: f64, first: simcore::Id, second: simcore::Id },
}

/// A station of FIFO servers.
struct StationNode {
    ctx: SimulationContext,
    servers: u32,
    service: Service,
    busy: u32,
    waiting: VecDeque<f64>,
    route: Route,
}

impl StationNode {
    fn start(&mut self, born: f64) {
        let ctx = &self.ctx;
        let service = self.service.draw(&mut || ctx.rand());
        ctx.emit_self(ServiceDone { born }, service);
    }
}

impl EventHandler for StationNode {
    fn on(&mut self, event: SimcoreEvent) {
        cast!(match event.data {
            Request { born } => {
                if self.busy < self.servers {
                    self.busy += 1;
                    self.start(born);
                } else {
                    self.waiting.push_back(born);
                }
            }
            ServiceDone { born } => {
                match self.waiting.pop_front() {
                    Some(waiting_born) => self.start(waiting_born),
                    None => self.busy -= 1,
                }
                match self.route {
                    Route::Answer(clients) => {
                        self.ctx.emit_ordered_now(Response { born }, clients);
                    }
                    Route::Forward { p, first, second } => {
                        let next = if self.ctx.rand() < p { first } else { second };
                        self.ctx.emit_ordered_now(Request { born }, next);
                    }
                }
            }
        })
    }
}

/// The model as SimCore components, one per node as a DSLab model is built (clients,
/// balancer, each app instance, cache, database), exchanging events: zero-time hops go
/// through SimCore's ordered deque (`emit_ordered_now`), the fastest way it offers.
fn simcore_nodes_run(model: Model, seed: u64) -> f64 {
    let (specs, rate_per_s) = stations(model);
    let mut simulation = simcore::Simulation::new(seed);
    let clients_ctx = simulation.create_context("clients");
    let clients = clients_ctx.id();
    let station_ctxs: Vec<SimulationContext> =
        (0..specs.len()).map(|station| simulation.create_context(format!("station-{station}"))).collect();
    let station_ids: Vec<simcore::Id> = station_ctxs.iter().map(SimulationContext::id).collect();
    let entry = match model {
        Model::Mmc { .. } => station_ids[0],
        Model::Web => {
            let ctx = simulation.create_context("lb");
            let id = ctx.id();
            let balancer = BalancerNode { ctx, targets: station_ids[..4].to_vec(), next: 0 };
            simulation.add_handler("lb", Rc::new(RefCell::new(balancer)));
            id
        }
    };
    for (station, ctx) in station_ctxs.into_iter().enumerate() {
        let route = match model {
            Model::Web if station < 4 => Route::Forward { p: 0.7, first: station_ids[4], second: station_ids[5] },
            _ => Route::Answer(clients),
        };
        let (servers, service) = specs[station];
        let node = StationNode { ctx, servers, service, busy: 0, waiting: VecDeque::new(), route };
        simulation.add_handler(format!("station-{station}"), Rc::new(RefCell::new(node)));
    }
    let gap = Service::Exp(1.0 / rate_per_s).draw(&mut || clients_ctx.rand());
    clients_ctx.emit_self(Arrival {}, gap);
    let client_node = Rc::new(RefCell::new(ClientNode {
        ctx: clients_ctx,
        entry,
        rate_per_s,
        created: 0,
        done: 0,
        latency_sum: 0.0,
        latencies: latency_histogram(),
    }));
    simulation.add_handler("clients", client_node.clone());
    simulation.step_until_no_events();
    let client_node = client_node.borrow();
    assert_eq!(client_node.done, CUSTOMERS);
    assert!(client_node.latencies.value_at_quantile(0.99) > 0);
    client_node.latency_sum / client_node.done as f64
}

// ---------------------------------------------------------------- archsim

fn archsim_run(text: &str, seed: u64) -> f64 {
    let topology = parse_topology(text).expect("a valid benchmark model");
    let config = RunConfig { seed, stop: StopCondition::Requests { count: CUSTOMERS }, warmup_ns: 0, drain: false };
    let mut simulation = Simulation::new(&topology, config);
    simulation.run_to_end();
    let report = simulation.report();
    assert_eq!(report.requests.completed, CUSTOMERS);
    report.latency_s.mean.expect("completed requests")
}

// ---------------------------------------------------------------- SimPy

/// SimPy's wall time for the model, from `benches/simpy/models.py`, if Python is given.
fn simpy_seconds(python: &str, name: &str) -> Option<f64> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let script = format!(
        "import sys, time; sys.path.insert(0, '{root}/benches/simpy'); import models; \
         t = time.perf_counter(); models.run('{name}', {CUSTOMERS}); print(time.perf_counter() - t)"
    );
    // The bench runs in benches/: a relative path is the workspace root's.
    let python =
        if python.contains('/') && !python.starts_with('/') { format!("{root}/{python}") } else { python.into() };
    let output = match std::process::Command::new(&python).args(["-c", &script]).output() {
        Ok(output) => output,
        Err(error) => {
            eprintln!("cannot run {python}: {error}");
            return None;
        }
    };
    if !output.status.success() {
        eprintln!("SimPy failed on {name}: {}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// The median, or NaN for an implementation that did not run.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|arg| arg == name).and_then(|i| args.get(i + 1)).cloned();
    let runs: usize = flag("--runs").map_or(5, |runs| runs.parse().expect("--runs N"));
    let python = flag("--simpy");
    let only = flag("--only");
    if let Some(only) = &only {
        assert!(
            ["archsim", "loop", "loop-report", "simcore", "simcore-nodes", "simcore-nodes-report"]
                .contains(&only.as_str()),
            "--only archsim|loop|loop-report|simcore|simcore-nodes|simcore-nodes-report"
        );
    }
    let runs_it = |implementation: &str| only.as_deref().is_none_or(|only| only == implementation);
    // Model names: the arguments that are neither flags nor the value of one.
    let takes_value = |flag: &str| ["--runs", "--simpy", "--only"].contains(&flag);
    let wanted: Vec<&String> = args
        .iter()
        .enumerate()
        .skip(1)
        .filter(|(i, arg)| !arg.starts_with('-') && !takes_value(&args[i - 1]))
        .map(|(_, arg)| arg)
        .collect();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let read = |path: &str| std::fs::read_to_string(format!("{root}/{path}")).expect("a benchmark model");
    let models = [
        ("mm1", Model::Mmc { servers: 1, rate_per_s: 0.9 }, read("benches/models/mm1.ron")),
        ("mm4", Model::Mmc { servers: 4, rate_per_s: 3.6 }, read("benches/models/mm4.ron")),
        ("web", Model::Web, read("benches/models/web.ron")),
    ];
    println!("{CUSTOMERS} customers per run, median of {runs} interleaved runs; ns per customer (mean latency)");
    println!(
        "{:<5} {:>22} {:>22} {:>22} {:>22} {:>22} {:>22} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "model",
        "archsim",
        "hand-written loop",
        "loop with the report",
        "SimCore (one)",
        "SimCore (per node)",
        "(per node, report)",
        "÷ loop",
        "÷ report",
        "one ÷",
        "nodes ÷",
        "report ÷",
        "SimPy ÷"
    );
    for (name, model, text) in models.iter().filter(|(name, ..)| wanted.is_empty() || wanted.iter().any(|w| w == name))
    {
        let (mut ours, mut looped, mut reported) = (Vec::new(), Vec::new(), Vec::new());
        let (mut theirs, mut theirs_by_node, mut theirs_reported) = (Vec::new(), Vec::new(), Vec::new());
        let mut means = [0.0; 6];
        for run in 0..runs {
            let seed = 1 + run as u64;
            if runs_it("archsim") {
                let start = Instant::now();
                means[0] = archsim_run(text, seed);
                ours.push(start.elapsed().as_secs_f64());
            }
            if runs_it("loop") {
                let start = Instant::now();
                means[1] = hand_written(*model, seed);
                looped.push(start.elapsed().as_secs_f64());
            }
            if runs_it("loop-report") {
                let start = Instant::now();
                means[2] = hand_written_report(*model, seed);
                reported.push(start.elapsed().as_secs_f64());
            }
            if runs_it("simcore") {
                let start = Instant::now();
                means[3] = simcore_run(*model, seed);
                theirs.push(start.elapsed().as_secs_f64());
            }
            if runs_it("simcore-nodes") {
                let start = Instant::now();
                means[4] = simcore_nodes_run(*model, seed);
                theirs_by_node.push(start.elapsed().as_secs_f64());
            }
            if runs_it("simcore-nodes-report") {
                let start = Instant::now();
                means[5] = simcore_report::simcore_nodes_report_run(*model, seed);
                theirs_reported.push(start.elapsed().as_secs_f64());
            }
        }
        let (ours, looped, reported) = (median(ours), median(looped), median(reported));
        let (theirs, theirs_by_node, theirs_reported) =
            (median(theirs), median(theirs_by_node), median(theirs_reported));
        let simpy = python.as_deref().and_then(|python| simpy_seconds(python, name));
        let per_customer = |seconds: f64| seconds * 1e9 / CUSTOMERS as f64;
        let unit = if matches!(model, Model::Web) { 1e3 } else { 1.0 };
        let mean = |value: f64| format!("({:.3}{})", value * unit, if unit > 1.0 { " ms" } else { " s" });
        println!(
            "{name:<5} {:>8.0} {:>13} {:>8.0} {:>13} {:>8.0} {:>13} {:>8.0} {:>13} {:>8.0} {:>13} {:>8.0} {:>13} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            per_customer(ours),
            mean(means[0]),
            per_customer(looped),
            mean(means[1]),
            per_customer(reported),
            mean(means[2]),
            per_customer(theirs),
            mean(means[3]),
            per_customer(theirs_by_node),
            mean(means[4]),
            per_customer(theirs_reported),
            mean(means[5]),
            ours / looped,
            ours / reported,
            theirs / ours,
            theirs_by_node / ours,
            theirs_reported / ours,
            simpy.map_or("-".to_string(), |simpy| format!("{:.1}", simpy / ours)),
        );
    }
}
