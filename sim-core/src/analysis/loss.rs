//! Nodes that turn requests away rather than queue without bound: a service's waiting room
//! of `queue` places per instance (or its `shed_above`), a function's concurrency. Each
//! instance is the M/M/c/K queue (Gross et al., *Fundamentals of Queueing Theory*, §2.5):
//! what share of its arrivals it refuses, and the mean wait of those it takes. It has a
//! steady state at any load, so a node with a room never saturates; its refusals thin what
//! its calls and hand-offs send on, and a request refused anywhere does not complete.

use super::answers::Answer;
use crate::spec::RawDiscipline as Discipline;
use crate::topology::{NodeKind, NONE};

/// An instance's servers and the places where arrivals may wait for one; an arrival that
/// finds them all taken is refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Room {
    pub servers: u32,
    pub places: u64,
}

/// The room of a node that refuses what it has no place for: a service that holds a
/// worker per request with a bounded queue or load shedding (the tighter of the two), a
/// function (its concurrency, no queue: Erlang's loss system). `None` for the others.
pub(super) fn room(kind: &NodeKind) -> Option<Room> {
    match kind {
        NodeKind::Service(service) if matches!(service.discipline, Discipline::Fifo | Discipline::Priority) => {
            let places = match (service.queue_capacity, service.shed_above) {
                (Some(queue), Some(shed)) => queue.min(shed),
                (Some(places), None) | (None, Some(places)) => places,
                (None, None) => return None,
            };
            Some(Room { servers: service.workers, places: u64::from(places) })
        }
        NodeKind::Function(function) => Some(Room { servers: function.concurrency, places: 0 }),
        _ => None,
    }
}

/// Why a node's room is modelled only approximately, if it is.
pub(super) fn room_caveat(kind: &NodeKind) -> Option<&'static str> {
    match kind {
        NodeKind::Function(function) if function.account != NONE => Some(
            "its account's concurrency, shared with other functions, can throttle it before its own: the view \
             counts its own alone",
        ),
        _ => None,
    }
}

/// What an instance's room does at its offered load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Refusals {
    /// The share of arrivals refused (every server busy, every place taken).
    pub refused: f64,
    /// The mean wait for a server of the arrivals taken, in seconds.
    pub wait_s: f64,
}

/// The M/M/c/K queue with `room.servers` servers and `room.places` places, Poisson arrivals
/// at `rate_per_s` and exponential holding of mean `holding_s`. With a = λh and ρ = a/c, the
/// counts' probabilities are those of M/M/c up to c (Erlang B's B = B(c, a) is the share at
/// c among them) and p_c·ρᵏ beyond: so p_{c+k} = B·ρᵏ / T with T = 1 + B·Σ₁ᴷ ρᵏ, the refused
/// share is p_{c+K}, and the mean queue B·Σ₁ᴷ k·ρᵏ / T over the admitted rate λ(1 − p_{c+K})
/// is the wait (Little). For ρ > 1 the sums are taken in powers of 1/ρ from the far end, so
/// nothing overflows at any K.
pub(super) fn refusals(room: Room, rate_per_s: f64, holding_s: f64) -> Refusals {
    let offered = rate_per_s * holding_s;
    if offered.is_nan() || offered <= 0.0 || offered.is_infinite() || room.servers == 0 {
        // Servers held without end (or none) take nothing more.
        let full = rate_per_s > 0.0 && (room.servers == 0 || offered.is_infinite());
        return Refusals { refused: if full { 1.0 } else { 0.0 }, wait_s: 0.0 };
    }
    let mut blocking = 1.0;
    for k in 1..=room.servers {
        blocking = offered * blocking / (f64::from(k) + offered * blocking);
    }
    let ratio = offered / f64::from(room.servers);
    let places = room.places as f64;
    // Σ₁ᴷ ρᵏ and Σ₁ᴷ k·ρᵏ, each divided by ρᴷ when ρ > 1 (`scaled`), with the matching ρ⁻ᴷ
    // for the 1 in T.
    let (sum, weighted, one) = if room.places == 0 {
        (0.0, 0.0, 1.0)
    } else if ratio <= 1.0 {
        let (sum, weighted) = power_sums(ratio, room.places);
        (sum, weighted, 1.0)
    } else {
        // Σ₁ᴷ ρᵏ⁻ᴷ = Σ₀^{K−1} rʲ and Σ₁ᴷ k·ρᵏ⁻ᴷ = Σ₀^{K−1} (K − j)·rʲ, with r = 1/ρ.
        let r = 1.0 / ratio;
        let (sum_from_one, weighted_from_one) = power_sums(r, room.places - 1);
        let sum = 1.0 + sum_from_one;
        let weighted = places * sum - weighted_from_one;
        (sum, weighted, libm::pow(r, places))
    };
    let total = one + blocking * sum;
    // p_{c+K}, scaled as T is.
    let last = if room.places > 0 && ratio <= 1.0 { blocking * libm::pow(ratio, places) } else { blocking };
    let refused = (last / total).clamp(0.0, 1.0);
    let queued = blocking * weighted / total;
    let admitted = rate_per_s * (1.0 - refused);
    let wait_s = if admitted > 0.0 { queued / admitted } else { 0.0 };
    Refusals { refused, wait_s }
}

/// Most places for which one server's exact chain is solved; past it M/M/1/K's closed form.
const MAX_CHAIN_PLACES: u64 = 2000;

/// One server with `places` places whose holding times are `holding` (its mean and c_s²,
/// fitted as `answers` fits them): the M/G/1/K queue, solved exactly by its chain at
/// departures (Gross et al. §5.1.7): with a_k the chance of k arrivals during a service,
/// the departures' counts π_j (j < K = places + 1) follow π_{j+1} = (π_j − π_0·a_j −
/// Σ₁ʲ π_i·a_{j−i+1}) / a_0; the time averages are p_j = π_j / (π_0 + ρ) below K, and the
/// refused share is p_K = 1 − 1 / (π_0 + ρ). `None` where the recursion loses its precision
/// (a negative or infinite count) or the terms underflow: then M/M/1/K stands in.
pub(super) fn one_server_refusals(holding: Answer, places: u64, rate_per_s: f64) -> Option<Refusals> {
    let (mean_s, capacity) = (holding.mean_s, places.checked_add(1)?);
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if places > MAX_CHAIN_PLACES || !positive(rate_per_s) || !positive(mean_s) {
        return None;
    }
    let k = capacity as usize;
    let a = holding.arrivals_during(rate_per_s, k)?;
    if a[0] <= 0.0 {
        return None;
    }
    let mut pi = vec![0.0; k];
    pi[0] = 1.0;
    for j in 0..k - 1 {
        let arrived: f64 = (1..=j).map(|i| pi[i] * a[j - i + 1]).sum();
        pi[j + 1] = (pi[j] - pi[0] * a[j] - arrived) / a[0];
        if !pi[j + 1].is_finite() || pi[j + 1] < 0.0 {
            return None;
        }
        // Keep the counts within range: only their ratios matter.
        if pi[j + 1] > 1e250 {
            pi.iter_mut().for_each(|p| *p *= 1e-250);
        }
    }
    let total: f64 = pi.iter().sum();
    pi.iter_mut().for_each(|p| *p /= total);
    let load = rate_per_s * mean_s;
    let scale = pi[0] + load;
    let refused = (1.0 - 1.0 / scale).clamp(0.0, 1.0);
    let in_system: f64 =
        pi.iter().enumerate().map(|(j, p)| j as f64 * p / scale).sum::<f64>() + capacity as f64 * refused;
    let admitted = rate_per_s * (1.0 - refused);
    let wait_s = (in_system / admitted - mean_s).max(0.0);
    (wait_s.is_finite() && refused.is_finite()).then_some(Refusals { refused, wait_s })
}

/// Σ₁ⁿ xᵏ and Σ₁ⁿ k·xᵏ for 0 < x ≤ 1, in closed form away from x = 1 and term by term near
/// it (where the closed forms cancel), stopping once the terms no longer count.
fn power_sums(x: f64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let count = n as f64;
    if x < 0.999 {
        let xn = libm::pow(x, count);
        let sum = x * (1.0 - xn) / (1.0 - x);
        let weighted = x * (1.0 - (count + 1.0) * xn + count * xn * x) / ((1.0 - x) * (1.0 - x));
        return (sum, weighted);
    }
    let (mut sum, mut weighted, mut term) = (0.0, 0.0, 1.0);
    for k in 1..=n {
        term *= x;
        sum += term;
        weighted += k as f64 * term;
        if term * k as f64 <= 1e-18 * weighted {
            break;
        }
    }
    (sum, weighted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// M/M/c/K by its defining sums: p_n ∝ aⁿ/n! up to c, then p_c·ρ^(n−c).
    fn by_sums(room: Room, rate_per_s: f64, holding_s: f64) -> Refusals {
        let offered = rate_per_s * holding_s;
        let c = room.servers as usize;
        let mut weights = vec![1.0_f64];
        for n in 1..=c + room.places as usize {
            let servers = n.min(c) as f64;
            weights.push(weights[n - 1] * offered / servers);
        }
        let total: f64 = weights.iter().sum();
        let refused = weights[weights.len() - 1] / total;
        let queued: f64 = weights.iter().enumerate().skip(c).map(|(n, w)| (n - c) as f64 * w / total).sum();
        Refusals { refused, wait_s: queued / (rate_per_s * (1.0 - refused)) }
    }

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() <= 1e-9 * want.abs().max(1e-12), "{got} against {want}");
    }

    #[test]
    fn erlang_b_is_the_room_without_places() {
        // B(10, 8) = 0.121661 (Gross et al., Erlang B tables); no one waits.
        let got = refusals(Room { servers: 10, places: 0 }, 8.0, 1.0);
        assert!((got.refused - 0.121_661).abs() < 1e-6, "{got:?}");
        assert_eq!(got.wait_s, 0.0);
    }

    #[test]
    fn one_server_matches_the_textbook_m_m_1_k() {
        // M/M/1/K with K − 1 places: p_K = (1 − ρ)ρᴷ / (1 − ρᴷ⁺¹) (Gross et al. §2.5).
        for (rho, places) in [(0.5, 4_u64), (0.9, 9), (1.5, 3), (3.0, 20)] {
            let k = places as f64 + 1.0;
            let want = (1.0 - rho) * libm::pow(rho, k) / (1.0 - libm::pow(rho, k + 1.0));
            close(refusals(Room { servers: 1, places }, rho, 1.0).refused, want);
        }
        // ρ = 1: every count equally likely.
        close(refusals(Room { servers: 1, places: 4 }, 1.0, 1.0).refused, 1.0 / 6.0);
    }

    #[test]
    fn closed_forms_match_the_defining_sums() {
        for (servers, places, rate, holding) in [
            (2, 3, 3.0, 1.0),
            (4, 10, 3.6, 1.0),
            (4, 10, 3.999_9, 1.0),
            (8, 50, 12.0, 1.0),
            (16, 100, 15.9, 1.0),
            (3, 1, 0.5, 2.0),
            (32, 200, 40.0, 1.0),
        ] {
            let room = Room { servers, places };
            let (got, want) = (refusals(room, rate, holding), by_sums(room, rate, holding));
            close(got.refused, want.refused);
            close(got.wait_s, want.wait_s);
        }
    }

    #[test]
    fn one_servers_chain_is_m_m_1_k_for_exponential_holding() {
        for (rate, places) in [(0.5, 0_u64), (0.5, 4), (0.9, 9), (1.5, 3), (3.0, 20), (0.8, 300)] {
            let room = Room { servers: 1, places };
            let exact = one_server_refusals(Answer { mean_s: 1.0, scv: 1.0 }, places, rate).unwrap();
            let closed = refusals(room, rate, 1.0);
            close(exact.refused, closed.refused);
            assert!((exact.wait_s - closed.wait_s).abs() <= 1e-9 * closed.wait_s.max(1.0), "{exact:?} {closed:?}");
        }
    }

    #[test]
    fn one_servers_chain_is_insensitive_without_places_and_exact_for_constant_work() {
        // No places: Erlang B(1, a) = a/(1 + a) whatever the holding times (insensitivity).
        for scv in [0.0, 0.3, 1.0, 4.0] {
            let got = one_server_refusals(Answer { mean_s: 2.0, scv }, 0, 0.4).unwrap();
            close(got.refused, 0.8 / 1.8);
            assert_eq!(got.wait_s, 0.0);
        }
        // M/D/1/2 (one place) at λ = 1, D = 1: a_k = e⁻¹/k!; π₀ = 1/(1 + (1 − a₀)/a₀) = a₀ = e⁻¹,
        // p₂ = 1 − 1/(π₀ + ρ) = 1 − 1/(e⁻¹ + 1).
        let got = one_server_refusals(Answer { mean_s: 1.0, scv: 0.0 }, 1, 1.0).unwrap();
        let e = std::f64::consts::E;
        close(got.refused, 1.0 - 1.0 / (1.0 / e + 1.0));
        // The wait: L = p₁ + 2p₂ with p₁ = (1 − π₀)/(π₀ + 1); W = L/λ(1 − p₂), less D.
        let (pi0, scale) = (1.0 / e, 1.0 / e + 1.0);
        let (p1, p2) = ((1.0 - pi0) / scale, 1.0 - 1.0 / scale);
        close(got.wait_s, (p1 + 2.0 * p2) / (1.0 - p2) - 1.0);
    }

    #[test]
    fn a_huge_room_overloaded_neither_overflows_nor_slows() {
        // ρ = 2 with a million places: nearly half refused, the queue nearly full.
        let got = refusals(Room { servers: 1, places: 1_000_000 }, 2.0, 1.0);
        close(got.refused, 0.5);
        assert!((got.wait_s - 999_999.0).abs() < 1.0, "{got:?}");
        // ρ < 1 with a million places is M/M/1: W_q = ρ/(μ − λ) = 9 s at ρ = 0.9.
        let got = refusals(Room { servers: 1, places: 1_000_000 }, 0.9, 1.0);
        assert!(got.refused < 1e-30);
        close(got.wait_s, 9.0);
    }
}
