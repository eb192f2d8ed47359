//! A handler that only consumers call (a work queue's, a log group's), with more consumers
//! than one instance has workers. Its arrivals are not Poisson: N consumers each hold one
//! call at a time, so at most N requests are ever at the handler, and the model's direct
//! calls go round robin over its instances, so consecutive calls land on different
//! instances. M/M/c per instance, fed Poisson, puts waits there that never happen (4
//! consumers over 4 single-worker instances at 0.675: 3.7 ms against the simulation's 0.8).
//!
//! The view solves the consumers' loop as a Markov chain: each idle consumer calls at rate γ
//! (the idle time exponential, as mean value analysis takes it), a call joins the instance
//! the rotation points at and moves the rotation on, and an instance with q calls serves
//! min(q, c) of them at a time, each in an exponential time. A state is the calls at each
//! instance, read from the rotation's position, so the rotation needs no state of its own.
//! γ is set so that the chain's throughput is the handler's arrival rate; its mean number
//! at the handler then gives the response by Little's law. Where the consumers cannot keep up
//! (the offered rate at or above the chain's throughput with no idle time), the response is
//! the loop's at saturation, so the consumers' own utilization comes out at 1 or more.
//!
//! A chain of more than `MAX_STATES` states takes the instances as chosen at random instead
//! (exact mean value analysis, Reiser and Lavenberg 1980, with Seidmann's approximation for
//! several workers): an upper bound, since round robin waits less than a random choice.
//!
//! Both are worked out once per shape (consumers, instances, workers) as a curve of the wait
//! against the load, in units of the handler's holding time, and read off it by interpolation.

use std::collections::BTreeMap;

/// Most states of the round-robin chain (compositions of at most N calls over k instances).
pub(super) const MAX_STATES: usize = 2500;
/// Points of a curve, idle call rates γ/μ log-spaced from 10⁻³ to 10³ (and one at saturation).
const CURVE_POINTS: usize = 41;
/// Past this share of the saturation load a curve goes straight to saturation.
const SATURATED_SHARE: f64 = 0.995;
/// Gauss–Seidel sweeps per solve at most, and the change per sweep that counts as converged.
const MAX_SWEEPS: usize = 20_000;
const TOLERANCE: f64 = 1e-10;

/// How the wait of a consumer-fed handler was worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// The round-robin chain.
    RoundRobin,
    /// Mean value analysis with a random choice of instance (the chain was too large).
    Random,
}

/// A handler's shape: its callers and servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Shape {
    pub consumers: u32,
    pub instances: u32,
    pub workers: u32,
}

/// The wait against the load for one shape, both in units of the holding time: `load` is
/// the offered work λ·S, `wait` W/S, ascending in load; `saturation` the most load the loop
/// carries (every consumer always calling), and `saturated_wait` its wait there.
#[derive(Debug, Clone)]
pub(super) struct Curve {
    pub method: Method,
    points: Vec<(f64, f64)>,
    saturation: f64,
    saturated_wait: f64,
}

impl Curve {
    /// The curve of `shape`.
    pub fn of(shape: Shape) -> Curve {
        if chain_states(shape).is_some_and(|states| states <= MAX_STATES) {
            round_robin_curve(shape)
        } else {
            random_curve(shape)
        }
    }

    /// The mean wait per call at `rate_per_s` calls of `holding_s` each, in seconds: at
    /// saturation and above it, the saturated loop's.
    pub fn wait_s(&self, rate_per_s: f64, holding_s: f64) -> f64 {
        let load = rate_per_s * holding_s;
        if holding_s <= 0.0 || load <= 0.0 {
            return 0.0;
        }
        if load >= self.saturation {
            return self.saturated_wait * holding_s;
        }
        // The curve from no load (no wait) to saturation, through its points.
        let above = self.points.partition_point(|(point_load, _)| *point_load < load);
        let point = |i: usize| match i {
            0 => (0.0, 0.0),
            i if i > self.points.len() => (self.saturation, self.saturated_wait),
            i => self.points[i - 1],
        };
        let (low, high) = (point(above), point(above + 1));
        let share = if high.0 > low.0 { (load - low.0) / (high.0 - low.0) } else { 1.0 };
        (low.1 + share * (high.1 - low.1)) * holding_s
    }
}

/// The curves worked out so far in one analysis, by shape.
#[derive(Debug, Default)]
pub(super) struct Curves(std::cell::RefCell<BTreeMap<Shape, std::rc::Rc<Curve>>>);

impl Curves {
    pub fn get(&self, shape: Shape) -> std::rc::Rc<Curve> {
        self.0.borrow_mut().entry(shape).or_insert_with(|| std::rc::Rc::new(Curve::of(shape))).clone()
    }
}

/// The number of states of `shape`'s chain, C(N + k, k), or `None` past `MAX_STATES`.
fn chain_states(shape: Shape) -> Option<usize> {
    let (n, k) = (u64::from(shape.consumers), u64::from(shape.instances));
    let mut count: u64 = 1;
    for i in 1..=k {
        count = count.checked_mul(n + i)? / i;
        if count > MAX_STATES as u64 {
            return None;
        }
    }
    Some(count as usize)
}

/// The round-robin chain: its states, and each state's arrivals from others.
struct Chain {
    consumers: u32,
    /// Per state: calls at the handler.
    present: Vec<u32>,
    /// Per state: its service rate (busy workers, in units of μ).
    serving: Vec<f64>,
    /// Per state: the states a transition comes from, with its rate, and whether it is a
    /// call (rate (N − present)·γ) or a completion (rate in units of μ, here).
    incoming: Vec<Vec<(u32, f64, bool)>>,
}

impl Chain {
    fn new(shape: Shape) -> Chain {
        let k = shape.instances as usize;
        let mut states: Vec<Vec<u16>> = Vec::new();
        let mut current = vec![0u16; k];
        enumerate(&mut current, 0, shape.consumers, &mut states);
        let index: BTreeMap<Vec<u16>, u32> =
            states.iter().enumerate().map(|(i, state)| (state.clone(), i as u32)).collect();
        let mut incoming = vec![Vec::new(); states.len()];
        let workers = shape.workers;
        for (from, state) in states.iter().enumerate() {
            let present: u32 = state.iter().map(|&q| u32::from(q)).sum();
            if present < shape.consumers {
                // A call joins the instance the rotation points at (position 0), and the
                // rotation moves on: the next instance becomes position 0.
                let mut next = state.clone();
                next[0] += 1;
                next.rotate_left(1);
                incoming[index[&next] as usize].push((from as u32, 1.0, true));
            }
            for m in 0..k {
                if state[m] > 0 {
                    let mut next = state.clone();
                    next[m] -= 1;
                    let rate = f64::from(u32::from(state[m]).min(workers));
                    incoming[index[&next] as usize].push((from as u32, rate, false));
                }
            }
        }
        let present: Vec<u32> = states.iter().map(|state| state.iter().map(|&q| u32::from(q)).sum()).collect();
        let serving =
            states.iter().map(|state| state.iter().map(|&q| f64::from(u32::from(q).min(workers))).sum()).collect();
        Chain { consumers: shape.consumers, present, serving, incoming }
    }

    /// The stationary distribution at idle call rate `gamma` (in units of μ), by Gauss–Seidel
    /// sweeps from `start`; then (throughput, mean present), in units of μ.
    fn solve(&self, gamma: f64, distribution: &mut [f64]) -> (f64, f64) {
        let outflow: Vec<f64> = (0..distribution.len())
            .map(|s| f64::from(self.consumers - self.present[s]) * gamma + self.serving[s])
            .collect();
        for _ in 0..MAX_SWEEPS {
            let mut change: f64 = 0.0;
            for s in 0..distribution.len() {
                let inflow: f64 = self.incoming[s]
                    .iter()
                    .map(|&(from, rate, call)| {
                        let from = from as usize;
                        let rate = if call { f64::from(self.consumers - self.present[from]) * gamma } else { rate };
                        distribution[from] * rate
                    })
                    .sum();
                let next = if outflow[s] > 0.0 { inflow / outflow[s] } else { distribution[s] };
                change = change.max((next - distribution[s]).abs());
                distribution[s] = next;
            }
            let total: f64 = distribution.iter().sum();
            distribution.iter_mut().for_each(|p| *p /= total);
            if change / total <= TOLERANCE {
                break;
            }
        }
        let throughput = distribution.iter().zip(&self.serving).map(|(p, s)| p * s).sum();
        let present = distribution.iter().zip(&self.present).map(|(p, &q)| p * f64::from(q)).sum();
        (throughput, present)
    }
}

/// Every way of placing at most `left` calls on the positions from `at` on.
fn enumerate(current: &mut Vec<u16>, at: usize, left: u32, out: &mut Vec<Vec<u16>>) {
    if at == current.len() {
        out.push(current.clone());
        return;
    }
    for q in 0..=left {
        current[at] = q as u16;
        enumerate(current, at + 1, left - q, out);
    }
    current[at] = 0;
}

/// Load and wait (units of S) from a throughput and a mean number present (units of μ).
fn point(throughput: f64, present: f64) -> (f64, f64) {
    (throughput, (present / throughput - 1.0).max(0.0))
}

fn round_robin_curve(shape: Shape) -> Curve {
    let chain = Chain::new(shape);
    let mut distribution = vec![1.0 / chain.present.len() as f64; chain.present.len()];
    // Saturation first: every consumer calls again at once.
    let (throughput, present) = chain.solve(1e9, &mut distribution);
    let (saturation, saturated_wait) = point(throughput, present);
    let uniform = 1.0 / distribution.len() as f64;
    distribution.fill(uniform);
    let mut points = Vec::with_capacity(CURVE_POINTS);
    for step in 0..CURVE_POINTS {
        let gamma = libm::pow(10.0, -3.0 + 6.0 * step as f64 / (CURVE_POINTS - 1) as f64);
        let (throughput, present) = chain.solve(gamma, &mut distribution);
        let (load, wait) = point(throughput, present);
        if load >= SATURATED_SHARE * saturation {
            // The rest of the curve lies within 0.5% of saturation: the line to it will do.
            break;
        }
        points.push((load, wait));
    }
    Curve { method: Method::RoundRobin, points, saturation, saturated_wait }
}

/// Exact mean value analysis of N consumers idling for Z between calls, each call to one of
/// k instances chosen at random; an instance of c workers is Seidmann's queue of demand
/// D/c plus a delay of D(c − 1)/c. Returns (throughput, mean present) in units of μ = 1/D.
fn random_mva(shape: Shape, idle: f64) -> (f64, f64) {
    let k = f64::from(shape.instances);
    let c = f64::from(shape.workers);
    // Per instance, visited 1/k of the calls: its demand per call is 1/k (units of D).
    let queue_demand = 1.0 / (k * c);
    let delay = (c - 1.0) / c;
    let mut queue_length = 0.0;
    let mut throughput = 0.0;
    for n in 1..=shape.consumers {
        let residence = k * queue_demand * (1.0 + queue_length);
        throughput = f64::from(n) / (idle + delay + residence);
        queue_length = throughput * queue_demand * (1.0 + queue_length);
    }
    let present = f64::from(shape.consumers) - throughput * idle;
    (throughput, present)
}

fn random_curve(shape: Shape) -> Curve {
    let mut points = Vec::with_capacity(CURVE_POINTS);
    for step in 0..CURVE_POINTS {
        let idle = libm::pow(10.0, 3.0 - 6.0 * step as f64 / (CURVE_POINTS - 1) as f64);
        let (throughput, present) = random_mva(shape, idle);
        points.push(point(throughput, present));
    }
    let (saturation, saturated_wait) = {
        let (throughput, present) = random_mva(shape, 0.0);
        point(throughput, present)
    };
    points.retain(|(load, _)| *load < saturation);
    Curve { method: Method::Random, points, saturation, saturated_wait }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One instance of c workers fed by N consumers is the machine-repairman model
    /// M/M/c//N (Gross et al., Fundamentals of Queueing Theory, 4th ed., §2.7): its
    /// stationary probabilities in closed form give the throughput and the number present.
    fn repairman(consumers: u32, workers: u32, gamma: f64) -> (f64, f64) {
        let mut weights = vec![1.0];
        for n in 1..=consumers {
            let arrival = f64::from(consumers - (n - 1)) * gamma;
            let service = f64::from(n.min(workers));
            let last = *weights.last().unwrap();
            weights.push(last * arrival / service);
        }
        let total: f64 = weights.iter().sum();
        let throughput = weights.iter().enumerate().map(|(n, w)| w / total * f64::from((n as u32).min(workers))).sum();
        let present = weights.iter().enumerate().map(|(n, w)| w / total * n as f64).sum();
        (throughput, present)
    }

    #[test]
    fn one_instance_is_the_machine_repairman_model() {
        for (consumers, workers) in [(4, 1), (6, 2), (9, 4)] {
            let chain = Chain::new(Shape { consumers, instances: 1, workers });
            let mut distribution = vec![1.0 / chain.present.len() as f64; chain.present.len()];
            for gamma in [0.01, 0.3, 2.0] {
                let (throughput, present) = chain.solve(gamma, &mut distribution);
                let (exact_throughput, exact_present) = repairman(consumers, workers, gamma);
                assert!(
                    (throughput - exact_throughput).abs() < 1e-7 * exact_throughput,
                    "{consumers} {workers} {gamma}: {throughput} {exact_throughput}"
                );
                assert!(
                    (present - exact_present).abs() < 1e-7 * exact_present,
                    "{consumers} {workers} {gamma}: {present} {exact_present}"
                );
            }
        }
    }

    #[test]
    fn no_more_consumers_than_workers_never_wait() {
        let curve = Curve::of(Shape { consumers: 3, instances: 2, workers: 4 });
        assert_eq!(curve.wait_s(500.0, 0.002), 0.0);
    }

    #[test]
    fn the_random_choice_waits_more_than_round_robin() {
        let shape = Shape { consumers: 4, instances: 4, workers: 1 };
        let round_robin = round_robin_curve(shape);
        let random = random_curve(shape);
        // Exact MVA at saturation, 4 calls over 4 instances of demand 1/4 each: the response
        // per call goes 1, 1.25, 1.5, 1.75 as the calls grow to 4, so X = 4/1.75.
        assert!((random.saturation - 4.0 / 1.75).abs() < 1e-9);
        assert!(round_robin.saturation > random.saturation);
        for load in [0.5, 1.0, 1.5, 2.0] {
            assert!(round_robin.wait_s(load, 1.0) < random.wait_s(load, 1.0), "{load}");
        }
    }

    #[test]
    fn the_chain_is_counted_before_it_is_built() {
        assert_eq!(chain_states(Shape { consumers: 4, instances: 4, workers: 1 }), Some(70));
        assert_eq!(chain_states(Shape { consumers: 40, instances: 20, workers: 1 }), None);
    }
}
