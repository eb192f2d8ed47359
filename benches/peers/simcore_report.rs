//! SimCore built as a component per node (as `simcore_nodes_run`), making the figures
//! archsim's report gives of these models (as `hand_written_report`): per station its
//! counts, time integrals, occupancy, waits, sojourns and slowdowns; end to end the latency
//! and slowdown distributions; for the web model the balancer's counts and sojourns. So
//! archsim can be set beside a framework model that makes the same figures, not only one
//! that keeps a latency histogram. Times cross as SimCore's seconds, the figures are kept in
//! integer ns as archsim and the loop keep them.

use super::{ns, stations, Durations, Model, Route, Service, StationFigures, CUSTOMERS};
use serde::Serialize;
use simcore::{cast, Event as SimcoreEvent, EventHandler, SimulationContext};
use std::cell::RefCell;
use std::rc::Rc;

/// A customer reaching a node: when it was created and the work it demanded so far.
#[derive(Clone, Serialize)]
struct Visit {
    born_ns: u64,
    demand_ns: u64,
}

/// A customer's service at a station ends: when it reached the station, and this service.
#[derive(Clone, Serialize)]
struct VisitDone {
    born_ns: u64,
    reached_ns: u64,
    demand_ns: u64,
    service_ns: u64,
}

/// The answer reaching the clients.
#[derive(Clone, Serialize)]
struct Answer {
    born_ns: u64,
    demand_ns: u64,
}

#[derive(Clone, Serialize)]
struct NextArrival {}

/// The clients: Poisson arrivals to the entry node; the end-to-end latency and slowdown
/// distributions, and for the web model the balancer's sojourns (its visit lasts until the
/// answer, as it does in archsim's report).
struct Clients {
    ctx: SimulationContext,
    entry: simcore::Id,
    rate_per_s: f64,
    created: u64,
    done: u64,
    latencies: Durations,
    slowdowns: Durations,
    slowdown_sum: f64,
    balancer_sojourns: Option<Durations>,
}

impl EventHandler for Clients {
    fn on(&mut self, event: SimcoreEvent) {
        cast!(match event.data {
            NextArrival {} => {
                self.created += 1;
                if self.created < CUSTOMERS {
                    let ctx = &self.ctx;
                    let gap = Service::Exp(1.0 / self.rate_per_s).draw(&mut || ctx.rand());
                    ctx.emit_self(NextArrival {}, gap);
                }
                self.ctx.emit_ordered_now(Visit { born_ns: ns(self.ctx.time()), demand_ns: 0 }, self.entry);
            }
            Answer { born_ns, demand_ns } => {
                let latency_ns = ns(self.ctx.time()) - born_ns;
                self.done += 1;
                self.latencies.record(latency_ns);
                let slowdown = latency_ns as f64 / demand_ns.max(1) as f64;
                self.slowdown_sum += slowdown;
                self.slowdowns.record(((slowdown * 1000.0) as u64).max(1));
                if let Some(sojourns) = &mut self.balancer_sojourns {
                    sojourns.record(latency_ns);
                }
            }
        })
    }
}

/// A zero-time round-robin balancer, counting what it routes.
struct Balancer {
    ctx: SimulationContext,
    targets: Vec<simcore::Id>,
    next: usize,
    arrivals: u64,
}

impl EventHandler for Balancer {
    fn on(&mut self, event: SimcoreEvent) {
        cast!(match event.data {
            Visit { born_ns, demand_ns } => {
                self.arrivals += 1;
                self.next = (self.next + 1) % self.targets.len();
                self.ctx.emit_ordered_now(Visit { born_ns, demand_ns }, self.targets[self.next]);
            }
        })
    }
}

/// A station of FIFO servers keeping its figures.
struct Station {
    ctx: SimulationContext,
    service: Service,
    figures: StationFigures,
    route: Route,
}

impl Station {
    fn start(&mut self, now_ns: u64, born_ns: u64, reached_ns: u64, demand_ns: u64) {
        let ctx = &self.ctx;
        let service_s = self.service.draw(&mut || ctx.rand());
        let service_ns = ns(service_s);
        self.figures.waits.record(now_ns - reached_ns);
        let done = VisitDone { born_ns, reached_ns, demand_ns: demand_ns + service_ns, service_ns };
        ctx.emit_self(done, service_s);
    }
}

impl EventHandler for Station {
    fn on(&mut self, event: SimcoreEvent) {
        cast!(match event.data {
            Visit { born_ns, demand_ns } => {
                let now_ns = ns(self.ctx.time());
                self.figures.advance(now_ns);
                self.figures.arrivals += 1;
                if self.figures.busy < self.figures.servers {
                    self.figures.busy += 1;
                    self.start(now_ns, born_ns, now_ns, demand_ns);
                } else {
                    self.figures.waiting.push_back((now_ns, born_ns, demand_ns));
                }
            }
            VisitDone { born_ns, reached_ns, demand_ns, service_ns } => {
                let now_ns = ns(self.ctx.time());
                let figures = &mut self.figures;
                figures.advance(now_ns);
                figures.completions += 1;
                let sojourn_ns = now_ns - reached_ns;
                figures.sojourns.record(sojourn_ns);
                let slowdown = sojourn_ns as f64 / service_ns.max(1) as f64;
                figures.slowdown_sum += slowdown;
                figures.slowdown_max = figures.slowdown_max.max(slowdown);
                match figures.waiting.pop_front() {
                    Some((waiting_reached_ns, waiting_born_ns, waiting_demand_ns)) => {
                        self.start(now_ns, waiting_born_ns, waiting_reached_ns, waiting_demand_ns)
                    }
                    None => figures.busy -= 1,
                }
                match self.route {
                    Route::Answer(clients) => {
                        self.ctx.emit_ordered_now(Answer { born_ns, demand_ns }, clients);
                    }
                    Route::Forward { p, first, second } => {
                        let next = if self.ctx.rand() < p { first } else { second };
                        self.ctx.emit_ordered_now(Visit { born_ns, demand_ns }, next);
                    }
                }
            }
        })
    }
}

/// The model as SimCore components, one per node, making the report's figures. Returns the
/// mean latency (s).
pub fn simcore_nodes_report_run(model: Model, seed: u64) -> f64 {
    let (specs, rate_per_s) = stations(model);
    let mut simulation = simcore::Simulation::new(seed);
    let clients_ctx = simulation.create_context("clients");
    let clients_id = clients_ctx.id();
    let station_ctxs: Vec<SimulationContext> =
        (0..specs.len()).map(|station| simulation.create_context(format!("station-{station}"))).collect();
    let station_ids: Vec<simcore::Id> = station_ctxs.iter().map(SimulationContext::id).collect();
    let mut balancer = None;
    let entry = match model {
        Model::Mmc { .. } => station_ids[0],
        Model::Web => {
            let ctx = simulation.create_context("lb");
            let id = ctx.id();
            let node =
                Rc::new(RefCell::new(Balancer { ctx, targets: station_ids[..4].to_vec(), next: 0, arrivals: 0 }));
            simulation.add_handler("lb", node.clone());
            balancer = Some(node);
            id
        }
    };
    let mut nodes = Vec::new();
    for (station, ctx) in station_ctxs.into_iter().enumerate() {
        let route = match model {
            Model::Web if station < 4 => Route::Forward { p: 0.7, first: station_ids[4], second: station_ids[5] },
            _ => Route::Answer(clients_id),
        };
        let (servers, service) = specs[station];
        let node = Rc::new(RefCell::new(Station { ctx, service, figures: StationFigures::new(servers), route }));
        simulation.add_handler(format!("station-{station}"), node.clone());
        nodes.push(node);
    }
    let gap = Service::Exp(1.0 / rate_per_s).draw(&mut || clients_ctx.rand());
    clients_ctx.emit_self(NextArrival {}, gap);
    let clients = Rc::new(RefCell::new(Clients {
        ctx: clients_ctx,
        entry,
        rate_per_s,
        created: 0,
        done: 0,
        latencies: Durations::new(3),
        slowdowns: Durations::new(3),
        slowdown_sum: 0.0,
        balancer_sojourns: matches!(model, Model::Web).then(|| Durations::new(2)),
    }));
    simulation.add_handler("clients", clients.clone());
    simulation.step_until_no_events();
    let clients = clients.borrow();
    assert_eq!(clients.done, CUSTOMERS);
    assert!(clients.latencies.histogram.value_at_quantile(0.99) > 0 && clients.slowdowns.histogram.len() == CUSTOMERS);
    // The figures are made to be read: kept from the optimizer as a report would read them.
    for node in &nodes {
        std::hint::black_box(&node.borrow().figures);
    }
    std::hint::black_box((&clients.slowdowns, clients.slowdown_sum, &clients.balancer_sojourns));
    std::hint::black_box(balancer.map(|node| node.borrow().arrivals));
    clients.latencies.sum_ns as f64 / clients.done as f64 / 1e9
}
