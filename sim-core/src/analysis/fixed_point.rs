//! The open view's fixed point: a worker is held during synchronous calls, so a node's
//! holding time includes its callees' response times, which include their waits, which
//! follow from the holding times. Iterated from no waits until both stop moving (or a node
//! saturates), with each visit's network time, calls made at once, hedges, quorums and
//! joined fetches.

use super::open::OpenModel;
use super::order_statistics::{self, Law, Shaped};
use super::visits::VisitEffect;
use super::{
    answers, database_parts, held_pools, mmc_wait_s, parts_wait_s, queue_shape, round_robin, routing, variability,
};
use crate::topology::NodeKind;

/// Where the fixed point settled.
pub(super) struct Solution {
    /// Per node: the mean wait for a worker (all infinite when a node saturates).
    pub wait: Vec<f64>,
    /// Per class and node: the mean response of a visit.
    pub response: Vec<Vec<f64>>,
    /// Per node: the mean time a worker is held per visit.
    pub holding: Vec<f64>,
    /// Per class and node: the same, per class.
    pub class_holding: Vec<Vec<f64>>,
    /// Per node: the holding times' c_s², where known.
    pub holding_scv: Vec<Option<f64>>,
    /// Per node: the same where it is not an exponential's 1, for its answers' variance.
    pub callee_scv: Vec<Option<f64>>,
    /// Per `Priority` node with classes in several levels: per class, the factor on its
    /// FCFS wait (`wait`) that gives the class's wait (`priorities.rs`).
    pub priority_factors: Vec<Option<Vec<f64>>>,
}

impl OpenModel<'_> {
    /// A call to `j`'s answer of mean `mean_s` (the trip and the callee's response), for
    /// the order statistics: where the callee has a work law (`work_draws`), that law after
    /// the trip and a wait of mean `wait_s` that a request meets with probability
    /// `order_statistics::waiting_odds` (per instance, at `holding_s`); else fitted by its
    /// variance where known (`variance_s2`); else exponential.
    fn answer_law(&self, j: usize, mean_s: f64, variance_s2: Option<f64>, wait_s: f64, holding_s: f64) -> Law<'_> {
        if let Some(draws) = self.work_draws[j].as_deref().filter(|_| mean_s > 0.0 && wait_s.is_finite()) {
            let scale = 1e-9 * self.stretch[j];
            let waits = queue_shape(&self.topology.nodes[j].kind).map_or(1.0, |(instances, workers)| {
                let offered = self.node_rate[j] / f64::from(instances.max(1)) * holding_s;
                order_statistics::waiting_odds(draws, scale, workers, offered)
            });
            return Law::Shaped(Shaped { mean_s, draws: std::borrow::Cow::Borrowed(draws), scale, wait_s, waits });
        }
        Law::Fitted(match variance_s2 {
            Some(variance) if mean_s > 0.0 => answers::Answer { mean_s, scv: variance / (mean_s * mean_s) },
            _ => answers::Answer::exponential(mean_s),
        })
    }

    /// Solves for the holding times, waits and responses.
    pub fn solve(&self) -> Result<Solution, String> {
        let (topology, n, classes) = (self.topology, self.n, self.classes);
        let (class_effects, class_rates, node_rate) = (&self.class_effects, &self.class_rates, &self.node_rate);
        let (stretch, asynchronous, mesh_s) = (&self.stretch, &self.asynchronous, self.mesh_s);
        let mut holding_scv = self.own_holding_scv.clone();
        let mut wait = vec![0.0; n];
        let mut response = vec![vec![0.0; n]; classes];
        let mut holding = vec![0.0; n];
        let mut class_holding = vec![vec![0.0; n]; classes];
        // A callee held for its own work alone whose holding times are not exponential: its
        // holding time's c_s², for its answers' variance.
        let mut callee_scv: Vec<Option<f64>> =
            holding_scv.iter().map(|scv| variability::unlike_exponential(*scv)).collect();
        let mut priority_factors: Vec<Option<Vec<f64>>> = vec![None; n];
        // Where each class's visits go, which no round changes.
        let routings: Vec<routing::Routing> = (class_effects.iter())
            .map(|effects| routing::Routing::of(effects, |effect, j| effect.calls[j] + effect.forwards[j]))
            .collect();
        for _ in 0..200 {
            // A priority queue's classes each wait their level's time, from the holding times so far.
            for (i, factors) in priority_factors.iter_mut().enumerate() {
                *factors = self.priority_factors(i, &class_holding);
            }
            // Its answer's variance: its work's, and its wait's taken as exponential.
            let answer_variance: Vec<Option<f64>> = (0..n)
                .map(|j| callee_scv[j].map(|scv| variability::answer_variance_s2(scv, holding[j], wait[j])))
                .collect();
            for class in 0..classes {
                let effects = &class_effects[class];
                let own: Vec<f64> = (0..n)
                    .map(|i| {
                        let effect = &effects[i];
                        // A hand-off crosses once (the next node answers the caller). A balancer
                        // (a shard router, a global balancer) waits for its target's answer,
                        // which comes back over the same link, unless the target hands the
                        // request on in turn: the answer then comes from further on.
                        let balancer = matches!(topology.nodes[i].kind, NodeKind::LoadBalancer(_));
                        let forward_s = |j: usize| {
                            if !balancer {
                                return self.class_link_s(class, i, j) + self.answer_back_s(i, j) + mesh_s;
                            }
                            let back = 1.0 - hands_off(&effects[j], &topology.nodes[j].kind);
                            (1.0 + back) * self.class_link_s(class, i, j) + 2.0 * mesh_s
                        };
                        let network: f64 = (effect.reached.iter())
                            .map(|&j| {
                                effect.calls[j] * 2.0 * (self.class_link_s(class, i, j) + mesh_s)
                                    + effect.forwards[j] * forward_s(j)
                            })
                            .sum();
                        // A call's time there and back with the callee's response, hedged where it is.
                        let call_s = |j: usize| {
                            self.call_time_s(i, j, 2.0 * (self.class_link_s(class, i, j) + mesh_s) + response[class][j])
                        };
                        let law =
                            |j: usize, mean_s: f64| self.answer_law(j, mean_s, answer_variance[j], wait[j], holding[j]);
                        let groups = groups_excess_s(effect, &response[class], |j| call_s(j) - response[class][j], law);
                        // The linear system waits for each call's unhedged time: a hedged call's is shorter.
                        let hedges: f64 = (self.hedged[i].iter())
                            .map(|&(j, _)| {
                                let unhedged = 2.0 * (self.class_link_s(class, i, j) + mesh_s) + response[class][j];
                                effect.calls[j] * (call_s(j) - unhedged)
                            })
                            .sum();
                        // A timed call's answer in the response is a call's that succeeds: the
                        // requests that complete are those whose calls did.
                        let timed: f64 = (effect.reached.iter())
                            .filter(|&&j| {
                                effect.calls[j] > 0.0 && !self.hedged[i].iter().any(|(callee, _)| *callee == j)
                            })
                            .map(|&j| {
                                let factor = self.succeeded_factor(i, j);
                                let unhedged = 2.0 * (self.class_link_s(class, i, j) + mesh_s) + response[class][j];
                                if factor == 1.0 {
                                    0.0
                                } else {
                                    effect.calls[j] * unhedged * (factor - 1.0)
                                }
                            })
                            .sum();
                        let replicas = replicas_excess_s(effect, &response[class], forward_s, law);
                        // A read joined to a fetch under way waits for what is left of it: a
                        // reader lands in a fetch of time D with odds in proportion to D, and
                        // then waits D/2 on average, so E[D²]/2E[D] (D exponential where its
                        // variance is not known: then E[D]).
                        let shared: f64 = (effect.shared_fetches.iter())
                            .map(|&(j, weight)| {
                                let fetch_s = call_s(j);
                                let variance = answer_variance[j].unwrap_or(fetch_s * fetch_s);
                                if fetch_s > 0.0 {
                                    weight * (variance + fetch_s * fetch_s) / (2.0 * fetch_s)
                                } else {
                                    0.0
                                }
                            })
                            .sum();
                        // A work queue's wait is its messages', after the producer's answer.
                        let request_wait = match &priority_factors[i] {
                            _ if asynchronous[i] => 0.0,
                            Some(factors) => wait[i] * factors[class],
                            None => wait[i],
                        };
                        request_wait
                            + effect.work_s * stretch[i]
                            + self.acks_s(class, i)
                            + effect.delay_s
                            + network
                            + groups
                            + hedges
                            + timed
                            + replicas
                            + shared
                    })
                    .collect();
                response[class] = routing::solve(&routings[class], &own, false)
                    .ok_or("the routing sends requests around a loop they never leave")?;
            }
            let mut next_holding = vec![0.0; n];
            for (i, slot) in next_holding.iter_mut().enumerate() {
                if node_rate[i] <= 0.0 {
                    continue;
                }
                let mut weighted = 0.0;
                // The classes whose requests come round without end (a loop that timed calls'
                // retries make grow: `routing::solve`), whose holding times are taken evenly.
                let (mut endless_held, mut endless) = (0.0, 0_u32);
                for class in 0..classes {
                    let effect = &class_effects[class][i];
                    // A consumer is held while the handler answers its message, as a caller is.
                    let calls: f64 = (effect.reached.iter())
                        .map(|&j| {
                            // (A log's groups are its parts: their consumers are not its workers.)
                            let messages = if asynchronous[i] { effect.messages[j] } else { 0.0 };
                            // A call the callee refuses answers at once, after the trip.
                            let call_s =
                                2.0 * (self.class_link_s(class, i, j) + mesh_s) + self.admitted[j] * response[class][j];
                            effect.calls[j] * self.call_time_s(i, j, call_s) + messages * call_s
                        })
                        .sum::<f64>()
                        + groups_excess_s(
                            effect,
                            &response[class],
                            |j| {
                                self.call_time_s(
                                    i,
                                    j,
                                    2.0 * (self.class_link_s(class, i, j) + mesh_s) + response[class][j],
                                ) - response[class][j]
                            },
                            |j, mean_s| self.answer_law(j, mean_s, answer_variance[j], wait[j], holding[j]),
                        );
                    let held = effect.work_s * stretch[i] + self.acks_s(class, i) + calls;
                    class_holding[class][i] = held;
                    if class_rates[class][i].is_infinite() {
                        endless_held += held;
                        endless += 1;
                    } else {
                        weighted += class_rates[class][i] * held;
                    }
                }
                *slot = if endless == 0 {
                    weighted / node_rate[i]
                } else {
                    // (Their answers' times, infinite too, can leave ∞ − ∞ in a held time.)
                    let held = endless_held / f64::from(endless);
                    if held.is_nan() {
                        f64::INFINITY
                    } else {
                        held
                    }
                };
            }
            // A caller's c_s², from its work's and its callees' answers' variances.
            for &i in &self.plain_callers {
                let answer = |j: usize, call_s: f64| {
                    let variance = variability::answer_variance_s2(holding_scv[j]?, holding[j], wait[j]);
                    Some((call_s, variance))
                };
                let calls = |class: usize, j: usize| {
                    answer(j, 2.0 * (self.class_link_s(class, i, j) + mesh_s) + response[class][j])
                };
                holding_scv[i] = variability::caller_scv(i, class_rates, class_effects, &class_holding, stretch, calls);
                callee_scv[i] = variability::unlike_exponential(holding_scv[i]);
            }
            let mut next_wait = vec![0.0; n];
            for (i, node) in topology.nodes.iter().enumerate() {
                if let Some(parts) = database_parts(
                    &node.kind,
                    i,
                    class_rates,
                    &class_holding,
                    &self.class_m2,
                    self.nearest_shares[i].as_deref(),
                ) {
                    next_wait[i] = parts_wait_s(&parts).unwrap_or(f64::INFINITY);
                } else if asynchronous[i] {
                    // Its messages' wait, which nothing in the loop uses, is taken at the end.
                } else if let Some((instances, workers)) = queue_shape(&node.kind).filter(|_| !self.never_waits[i]) {
                    next_wait[i] = self
                        .instance_wait_s(i, node_rate[i], next_holding[i], holding_scv[i], workers, instances)
                        .unwrap_or(f64::INFINITY);
                }
            }
            // A pool and the smaller pool only it calls, together (`held_pools.rs`): a visit
            // spends its calls' responses there and the rest of its holding time outside.
            for (i, pool) in self.held_pools.iter().enumerate() {
                let Some(pool) = pool.filter(|_| node_rate[i].is_finite() && node_rate[i] > 0.0) else { continue };
                let j = pool.callee;
                let (mut calls, mut at_callee_s) = (0.0, 0.0);
                for class in 0..classes {
                    let made = class_rates[class][i] * class_effects[class][i].calls[j];
                    calls += made;
                    at_callee_s += made * response[class][j];
                }
                let (calls, at_callee_s) = (calls / node_rate[i], at_callee_s / node_rate[i]);
                let outside_s = (next_holding[i] - at_callee_s).max(0.0);
                let (caller_wait_s, callee_wait_s) =
                    held_pools::pool_waits_s(&pool, node_rate[i], outside_s, calls, next_holding[j])
                        .unwrap_or((f64::INFINITY, f64::INFINITY));
                next_wait[j] = callee_wait_s;
                next_wait[i] = if pool.instances == 1 {
                    caller_wait_s
                } else {
                    let holding_s = next_holding[i];
                    let poisson =
                        held_pools::instance_wait_s(&pool, node_rate[i], outside_s, calls, next_holding[j], holding_s);
                    // Instances taking their arrivals in turn wait less than Poisson's: by as
                    // much as their gaps' GI/M/c wait is below M/M/c's at this holding time,
                    // Allen and Cunneen's (c_a² + 1)/2 for several workers. (Not the exact
                    // E_k/M/c ratio: the pool's wait is not M/M/c's, and on 2 instances of 2
                    // workers over 1 at 85%, where this leaves the response 16% under the
                    // runs, that one left it 20% under.)
                    let instance_rate = node_rate[i] / f64::from(pool.instances);
                    let gaps = match (self.gaps[i], mmc_wait_s(pool.workers, instance_rate, holding_s)) {
                        (Some(gaps), _) if pool.workers > 1 => (gaps.scv() + 1.0) / 2.0,
                        (Some(gaps), Some(mmc)) if mmc > 0.0 => {
                            round_robin::wait_s(gaps, pool.instances, pool.workers, node_rate[i], holding_s, None)
                                .map_or(1.0, |wait| wait / mmc)
                        }
                        _ => 1.0,
                    };
                    poisson.map_or(f64::INFINITY, |wait| wait * gaps)
                };
            }
            let converged = next_wait.iter().zip(&wait).all(|(a, b)| (a - b).abs() <= 1e-12 + 1e-9 * b.abs())
                && next_holding.iter().zip(&holding).all(|(a, b)| (a - b).abs() <= 1e-12 + 1e-9 * b.abs());
            holding = next_holding;
            let saturated = next_wait.iter().any(|w| !w.is_finite());
            wait = next_wait.into_iter().map(|w| if w.is_finite() { w } else { 0.0 }).collect();
            if converged || saturated {
                if saturated {
                    wait = vec![f64::INFINITY; n];
                }
                break;
            }
        }
        // A work queue's consumer is held while its handler answers. Where the handler is held
        // for its own work alone, that answer's variance is known (its work's, and its wait's
        // taken as exponential), and so is the consumers' c_s²: their messages' wait is M/G/c's.
        for (i, node) in topology.nodes.iter().enumerate() {
            let NodeKind::WorkQueue(queue) = &node.kind else { continue };
            let handler = queue.handler.index();
            if let Some(scv) = holding_scv[handler].filter(|_| holding[i] > 0.0 && wait[handler].is_finite()) {
                let variance = variability::answer_variance_s2(scv, holding[handler], wait[handler]);
                holding_scv[i] = Some(variance / (holding[i] * holding[i]));
                callee_scv[i] = variability::unlike_exponential(holding_scv[i]);
            }
        }
        Ok(Solution { wait, response, holding, class_holding, holding_scv, callee_scv, priority_factors })
    }
}

/// How much longer (negative: shorter) a visit's groups of calls made at once keep its
/// worker than the same calls made in turn, which is how `calls` counts them: per group, the
/// expected time until `wait` of its calls have answered, less the sum of their times. A
/// call's time (`network_s` there and back, plus the callee's response) is `law`'s
/// (`OpenModel::answer_law`).
fn groups_excess_s<'a>(
    effect: &VisitEffect,
    response: &[f64],
    network_s: impl Fn(usize) -> f64,
    law: impl Fn(usize, f64) -> Law<'a>,
) -> f64 {
    effect
        .groups
        .iter()
        .map(|group| {
            let laws: Vec<Law> = (group.targets.iter()).map(|&j| law(j, network_s(j) + response[j])).collect();
            let sum: f64 = laws.iter().map(Law::mean_s).sum();
            group.weight * (order_statistics::expected_kth_s(&laws, group.wait) - sum)
        })
        .sum()
}

/// The share of a visit that ends by handing the request on (a `Forward`, a gateway's route,
/// a limiter's next), so that another node answers the caller; a balancer waits for its
/// targets' answers and answers itself.
pub(super) fn hands_off(effect: &VisitEffect, kind: &NodeKind) -> f64 {
    if matches!(kind, NodeKind::LoadBalancer(_)) {
        return 0.0;
    }
    effect.forwards.total().min(1.0)
}

/// The same for a quorum-replicated store, whose `forwards` count the copies asked as if
/// answered in turn: the wait for the quorum, the `wait`-th of `copies` answers each drawn
/// from the copies' mixture (a key's copies are any of the replicas, in proportion to
/// their shares), each copy's answer `law`'s. Exponential answers of one mean give
/// mean · (1/copies + … + 1/(copies − wait + 1)).
fn replicas_excess_s<'a>(
    effect: &VisitEffect,
    response: &[f64],
    network_s: impl Fn(usize) -> f64,
    law: impl Fn(usize, f64) -> Law<'a>,
) -> f64 {
    let Some((copies, wait)) = effect.replicas else { return 0.0 };
    let parts = (effect.forwards.iter())
        .filter(|(_, share)| *share > 0.0)
        .map(|(j, share)| (share, law(j, network_s(j) + response[j])));
    let Some(answer) = Law::mixture(parts.collect()) else { return 0.0 };
    let mean_s = answer.mean_s();
    order_statistics::expected_kth_s(&vec![answer; copies], wait.clamp(1, copies)) - copies as f64 * mean_s
}
