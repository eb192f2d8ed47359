//! Instances that a power-of-two-choices balancer alone feeds: each request goes to the
//! less busy of two instances drawn at random, which keeps far fewer waiting than a random
//! split (M/M/c per instance) and more than one pool of all the workers.
//!
//! The mean field (Mitzenmacher 1996; Vvedenskaya et al. 1996): as the instances grow, the
//! share x_k of instances holding k requests or more settles where the flows across each
//! level balance, λ(x_{k−1}² − x_k²) = μ·min(k, c)·(x_k − x_{k+1}) per instance (c workers,
//! x₀ = 1); with one worker, x_k = ρ^(2^k − 1). Few instances hold more than that: the
//! refined mean field (Gast and Van Houdt, "A Refined Mean Field Approximation", 2017) adds
//! the 1/N term of the expansion in the number of instances N, from the drift's Jacobian A
//! and second derivatives, the fluctuations' covariance W (A·W + W·Aᵀ + Q = 0) and the
//! drift's own 1/N part (two distinct instances are drawn, not two with replacement). That
//! term is exact as N grows; at 16 instances the runs are within 3% of it, at 4 they hold up
//! to a fifth more, so the wait is kept within its bounds: above the pooled M/M/(N·c) wait,
//! below the random split's.

use super::loss::{self, Refusals, Room};
use super::mmc_wait_s;

/// Most workers an instance may have for the refined term (the covariance's equations
/// grow as the fourth power of the levels); past it the mean field alone.
const MAX_REFINED_WORKERS: u32 = 32;
/// Levels past the workers are followed until this few instances hold them.
const NEGLIGIBLE_SHARE: f64 = 1e-14;
/// Most places past its workers an instance's room may have to be solved level by level;
/// a larger room is taken as unbounded below saturation, as a random split's above.
const MAX_ROOM_PLACES: u64 = 64;

/// The mean wait at one of `instances` instances of `workers` workers, at `rate_per_s`
/// arrivals for them all and exponential holding times of mean `holding_s`, when a power
/// of two choices spreads the arrivals; `None` at or above saturation.
pub(super) fn wait_s(instances: u32, workers: u32, rate_per_s: f64, holding_s: f64) -> Option<f64> {
    let per_instance = rate_per_s / f64::from(instances);
    let split = mmc_wait_s(workers, per_instance, holding_s)?;
    let pooled = mmc_wait_s(workers * instances, rate_per_s, holding_s)?;
    let offered = per_instance * holding_s;
    if instances < 2 || offered <= 0.0 {
        return Some(split);
    }
    let levels = mean_field(offered, workers);
    let held = refined(&levels, offered, workers, instances).held;
    // Little's law per instance: the response is the requests held over the arrival rate.
    Some(within((held / offered - 1.0) * holding_s, pooled, split))
}

/// The share refused and the wait of the arrivals taken at one of `instances` instances,
/// each of `room` (its workers, and its places to wait), fed `rate_per_s` for them all by a
/// power of two choices with exponential holding times of mean `holding_s`: a request is
/// refused when both instances drawn are full. Kept between one pool of every instance's
/// workers and places and a random split.
pub(super) fn refusals(instances: u32, room: Room, rate_per_s: f64, holding_s: f64) -> Refusals {
    let per_instance = rate_per_s / f64::from(instances);
    let split = loss::refusals(room, per_instance, holding_s);
    let pool = Room { servers: room.servers * instances, places: room.places * u64::from(instances) };
    let pooled = loss::refusals(pool, rate_per_s, holding_s);
    let offered = per_instance * holding_s;
    let workers = f64::from(room.servers);
    if instances < 2 || room.servers == 0 || !(offered > 0.0 && offered.is_finite()) {
        return split;
    }
    let (held, refused) = if room.places <= MAX_ROOM_PLACES {
        let levels = room_mean_field(offered, room.servers, room.servers as usize + room.places as usize);
        let instance = refined(&levels, offered, room.servers, instances);
        (instance.held, instance.refused)
    } else if offered < workers {
        // Far more places than the levels held reach: nothing is refused.
        let levels = mean_field(offered, room.servers);
        (refined(&levels, offered, room.servers, instances).held, 0.0)
    } else {
        return split;
    };
    let refused = within(refused, pooled.refused, split.refused);
    // Neither one pool's wait nor a random split's bounds this one: each admits another
    // share. A request waits for no more than every place ahead of it to be served.
    let longest_s = room.places as f64 * holding_s / workers;
    let wait_s = within((held / (offered * (1.0 - refused)) - 1.0) * holding_s, 0.0, longest_s);
    Refusals { refused, wait_s }
}

/// `value` no lower than `low` and no higher than `high` (`high` if they cross).
fn within(value: f64, low: f64, high: f64) -> f64 {
    value.max(low).min(high)
}

/// One instance by the refined mean field: the requests it holds, and the share of
/// arrivals refused (both instances drawn at the top level, when the levels are a room's).
struct Instance {
    held: f64,
    refused: f64,
}

/// The requests an instance holds at the mean field's `levels`, with the refined mean
/// field's 1/N term, and the share refused: E[x_B·(N·x_B − 1)/(N − 1)] for the top level
/// B, E[x_B²] = (π_B + V_B/N)² + W_BB/N to order 1/N. (Unbounded levels end where they are
/// negligible, and refuse nothing to speak of.)
fn refined(levels: &[f64], offered: f64, workers: u32, instances: u32) -> Instance {
    let n = f64::from(instances);
    let top = levels.last().copied().unwrap_or(0.0);
    let mut held = levels.iter().sum::<f64>();
    let mut top_square = top * top;
    if workers <= MAX_REFINED_WORKERS {
        let (shift, covariance) = refinement(levels, offered, workers, instances);
        held += shift.iter().sum::<f64>() / n;
        let (shift_top, variance_top) =
            (shift.last().copied().unwrap_or(0.0), covariance.last().copied().unwrap_or(0.0));
        top_square += (2.0 * top * shift_top + variance_top) / n;
    }
    let refused = (top_square + (top * top - top) / (n - 1.0)).clamp(0.0, 1.0);
    Instance { held, refused }
}

/// The mean field's shares x_1, x_2, … of instances holding k requests or more, at
/// `offered` Erlangs per instance of `workers` workers (holding times of mean 1), until
/// they are negligible.
///
/// Summing the balances from level j up gives a·x_{j−1}² = j·x_j + Σ_{k=j+1..c} x_k for
/// j ≤ c, and x_k = (a/c)·x_{k−1}² past c: given x_c the levels below follow one by one,
/// and x_c is found by bisection where they end at x₀ = 1.
fn mean_field(offered: f64, workers: u32) -> Vec<f64> {
    let c = workers as usize;
    let mut levels = vec![0.0; c];
    let down = |top: f64, levels: &mut [f64]| -> f64 {
        // levels[k - 1] is x_k; returns x₀.
        levels[c - 1] = top;
        let mut above = 0.0;
        let mut x_j = top;
        for j in (1..=c).rev() {
            let x_before = ((j as f64 * x_j + above) / offered).sqrt();
            above += x_j;
            if j > 1 {
                levels[j - 2] = x_before;
            }
            x_j = x_before;
        }
        x_j
    };
    let top = bisect_top(|top| down(top, &mut levels));
    down(top, &mut levels);
    let ratio = offered / workers as f64;
    let mut last = levels[c - 1];
    while last > NEGLIGIBLE_SHARE && levels.len() < c + 64 {
        last = ratio * last * last;
        levels.push(last);
    }
    levels
}

/// The mean field's shares x_1 … x_B of a room of `capacity` requests (workers and
/// places), at `offered` Erlangs per instance: with x_{B+1} = 0 each balance gives a level
/// from the two above it, x_{k−1} = √(x_k² + min(k, c)·(x_k − x_{k+1})/a), down from a top
/// x_B found by bisection where they end at x₀ = 1. A room has them at any load.
fn room_mean_field(offered: f64, workers: u32, capacity: usize) -> Vec<f64> {
    let c = workers as usize;
    let mut levels = vec![0.0; capacity];
    let down = |top: f64, levels: &mut [f64]| -> f64 {
        let (mut x_k, mut above) = (top, 0.0);
        for k in (1..=capacity).rev() {
            levels[k - 1] = x_k;
            let x_before = (x_k * x_k + k.min(c) as f64 * (x_k - above) / offered).sqrt();
            (above, x_k) = (x_k, x_before);
        }
        x_k
    };
    let top = bisect_top(|top| down(top, &mut levels));
    down(top, &mut levels);
    levels
}

/// The top level's share in (0, 1) at which the levels worked down from it end at x₀ = 1
/// (`bottom` gives x₀ for a top, rising with it), by bisection to the last bit.
fn bisect_top(mut bottom: impl FnMut(f64) -> f64) -> f64 {
    let (mut low, mut high) = (0.0_f64, 1.0_f64);
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if middle <= low || middle >= high {
            break;
        }
        if bottom(middle) < 1.0 {
            low = middle;
        } else {
            high = middle;
        }
    }
    0.5 * (low + high)
}

/// The refined mean field's 1/N terms of the levels, V = −A⁻¹·(½·∂²f:W + g), and the
/// diagonal of the fluctuations' covariance W: A the drift's Jacobian at the mean field `levels`, W the
/// fluctuations' covariance (A·W + W·Aᵀ = −Q), and g the drift's 1/N part for two distinct
/// instances drawn (both hold k or more with probability x_k·(N·x_k − 1)/(N − 1)).
fn refinement(levels: &[f64], offered: f64, workers: u32, instances: u32) -> (Vec<f64>, Vec<f64>) {
    let n = levels.len();
    let a = offered;
    let x = |k: usize| if k == 0 { 1.0 } else { levels.get(k - 1).copied().unwrap_or(0.0) };
    let served = |k: usize| k.min(workers as usize) as f64;
    // The drift f_k = a·(x_{k−1}² − x_k²) − min(k, c)·(x_k − x_{k+1}) is tridiagonal in x.
    let mut below = vec![0.0; n];
    let mut diagonal = vec![0.0; n];
    let mut above = vec![0.0; n];
    let mut noise = vec![0.0; n];
    for k in 1..=n {
        let row = k - 1;
        if k > 1 {
            below[row] = 2.0 * a * x(k - 1);
        }
        diagonal[row] = -2.0 * a * x(k) - served(k);
        if k < n {
            above[row] = served(k);
        }
        noise[row] = a * (x(k - 1) * x(k - 1) - x(k) * x(k)) + served(k) * (x(k) - x(k + 1));
    }
    let covariance = lyapunov_diagonal(&below, &diagonal, &above, &noise);
    let distinct = f64::from(instances) / f64::from(instances - 1);
    let pair = |k: usize| x(k) * x(k) - x(k);
    let w = |k: usize| if k == 0 { 0.0 } else { covariance[k - 1] };
    let mut rhs: Vec<f64> =
        (1..=n).map(|k| -(a * (w(k - 1) - w(k)) + a * distinct * (pair(k - 1) - pair(k)))).collect();
    solve_tridiagonal(&below, &diagonal, &above, &mut rhs);
    (rhs, covariance)
}

/// The diagonal of W solving A·W + W·Aᵀ = −diag(`noise`) for the tridiagonal A (`below`,
/// `diagonal`, `above` per row): K² equations whose row (i, j) reads
/// A_{i,i−1}·W_{i−1,j} + (A_ii + A_jj)·W_ij + A_{i,i+1}·W_{i+1,j} + A_{j,j−1}·W_{i,j−1} +
/// A_{j,j+1}·W_{i,j+1}, a band of K either side, solved by banded elimination.
fn lyapunov_diagonal(below: &[f64], diagonal: &[f64], above: &[f64], noise: &[f64]) -> Vec<f64> {
    let k = diagonal.len();
    let mut band = Band::new(k * k, k);
    let mut rhs = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..k {
            let row = i * k + j;
            band.set(row, row, diagonal[i] + diagonal[j]);
            if i > 0 {
                band.set(row, row - k, below[i]);
            }
            if i + 1 < k {
                band.set(row, row + k, above[i]);
            }
            if j > 0 {
                band.set(row, row - 1, below[j]);
            }
            if j + 1 < k {
                band.set(row, row + 1, above[j]);
            }
            if i == j {
                rhs[row] = -noise[i];
            }
        }
    }
    band.solve(&mut rhs);
    (0..k).map(|i| rhs[i * k + i]).collect()
}

/// Solves the tridiagonal system in place (`rhs` becomes the solution), by elimination
/// with partial pivoting over a band (the drift's Jacobian is not diagonally dominant).
fn solve_tridiagonal(below: &[f64], diagonal: &[f64], above: &[f64], rhs: &mut [f64]) {
    let n = diagonal.len();
    let mut band = Band::new(n, 1);
    for row in 0..n {
        band.set(row, row, diagonal[row]);
        if row > 0 {
            band.set(row, row - 1, below[row]);
        }
        if row + 1 < n {
            band.set(row, row + 1, above[row]);
        }
    }
    band.solve(rhs);
}

/// A square matrix with `width` diagonals either side of the main one, stored by rows with
/// room for the fill-in that row exchanges bring (LAPACK's `gbtrf` layout, by rows).
struct Band {
    n: usize,
    width: usize,
    /// Row r holds columns r − width ..= r + 2·width.
    cells: Vec<f64>,
}

impl Band {
    fn new(n: usize, width: usize) -> Self {
        Self { n, width, cells: vec![0.0; n * (3 * width + 1)] }
    }

    fn index(&self, row: usize, column: usize) -> usize {
        row * (3 * self.width + 1) + (column + self.width - row)
    }

    fn set(&mut self, row: usize, column: usize, value: f64) {
        let index = self.index(row, column);
        self.cells[index] = value;
    }

    fn get(&self, row: usize, column: usize) -> f64 {
        self.cells[self.index(row, column)]
    }

    /// Gaussian elimination with partial pivoting, then back substitution, into `rhs`.
    fn solve(mut self, rhs: &mut [f64]) {
        let (n, width) = (self.n, self.width);
        for pivot in 0..n {
            let last_row = (pivot + width).min(n - 1);
            let best = (pivot..=last_row)
                .max_by(|&r, &s| self.get(r, pivot).abs().total_cmp(&self.get(s, pivot).abs()))
                .unwrap_or(pivot);
            let last_column = (pivot + 2 * width).min(n - 1);
            if best != pivot {
                for column in pivot..=last_column {
                    let (p, b) = (self.index(pivot, column), self.index(best, column));
                    self.cells.swap(p, b);
                }
                rhs.swap(pivot, best);
            }
            let head = self.get(pivot, pivot);
            if head == 0.0 {
                continue;
            }
            for row in pivot + 1..=last_row {
                let factor = self.get(row, pivot) / head;
                if factor == 0.0 {
                    continue;
                }
                for column in pivot..=last_column {
                    let value = self.get(row, column) - factor * self.get(pivot, column);
                    self.set(row, column, value);
                }
                rhs[row] -= factor * rhs[pivot];
            }
        }
        for row in (0..n).rev() {
            let last_column = (row + 2 * width).min(n - 1);
            let known: f64 = (row + 1..=last_column).map(|column| self.get(row, column) * rhs[column]).sum();
            let sum = rhs[row] - known;
            let head = self.get(row, row);
            rhs[row] = if head == 0.0 { 0.0 } else { sum / head };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worker: x_k = ρ^(2^k − 1) (Mitzenmacher's fixed point).
    #[test]
    fn one_worker_levels_are_rho_to_two_to_the_k_minus_one() {
        for rho in [0.3, 0.7, 0.9, 0.99] {
            let levels = mean_field(rho, 1);
            for (k, x) in levels.iter().enumerate().take(8) {
                let exact = f64::powi(rho, (1 << (k + 1)) - 1);
                assert!((x - exact).abs() < 1e-12, "ρ {rho} level {}: {x} against {exact}", k + 1);
            }
        }
    }

    /// The levels balance: a·(x_{k−1}² − x_k²) = min(k, c)·(x_k − x_{k+1}), and the
    /// workers busy are the offered load (Σ_{k ≤ c} x_k = a).
    #[test]
    fn several_workers_levels_balance_their_flows() {
        for (offered, workers) in [(3.6, 4), (1.6, 2), (28.8, 32), (0.5, 3)] {
            let levels = mean_field(offered, workers);
            let x = |k: usize| if k == 0 { 1.0 } else { levels.get(k - 1).copied().unwrap_or(0.0) };
            for k in 1..levels.len() {
                let up = offered * (x(k - 1) * x(k - 1) - x(k) * x(k));
                let down = k.min(workers as usize) as f64 * (x(k) - x(k + 1));
                assert!(
                    (up - down).abs() < 1e-10,
                    "{offered} Erlangs, {workers} workers, level {k}: {up} against {down}"
                );
            }
            let busy: f64 = (1..=workers as usize).map(x).sum();
            assert!((busy - offered).abs() < 1e-10);
        }
    }

    /// The requests an instance holds, against an independent computation (SciPy's
    /// `fsolve` for the fixed point and `solve_continuous_lyapunov` for W, 60 levels past
    /// the workers): mean field and refined.
    #[test]
    fn held_requests_match_an_independent_solution() {
        let cases = [
            // (instances, ρ, workers, mean field, refined)
            (16, 0.9, 1, 2.3526516396, 2.5210263067),
            (4, 0.9, 1, 2.3526516396, 2.9453732883),
            (16, 0.9, 4, 4.3208336248, 4.4881108371),
            (8, 0.8, 2, 2.0869069835, 2.1873437423),
            (64, 0.95, 1, 3.2138937024, 3.3242374792),
        ];
        for (instances, rho, workers, mean_field_held, refined_held) in cases {
            let offered = rho * f64::from(workers);
            let levels = mean_field(offered, workers);
            let held: f64 = levels.iter().sum();
            let refined = refined(&levels, offered, workers, instances).held;
            assert!((held - mean_field_held).abs() < 1e-8, "{instances}×{workers} at {rho}: {held}");
            assert!((refined - refined_held).abs() < 1e-7, "{instances}×{workers} at {rho}: {refined}");
        }
    }

    /// A room's levels balance their flows with nothing above the top, and its requests
    /// held and share refused match the same independent computation (SciPy, as above, on
    /// the room's levels): 16 single-worker instances of 2 places at 0.9 and 1.1 Erlangs
    /// (3 places), 4 of 2 workers and 3 places at 2.2.
    #[test]
    fn rooms_match_an_independent_solution() {
        let cases = [
            // (instances, Erlangs per instance, workers, capacity, held, refused)
            (16, 0.9, 1, 3, 1.6486369907, 0.0694824838),
            (16, 1.1, 1, 4, 2.8180352637, 0.1326494447),
            (4, 2.2, 2, 5, 3.6451839612, 0.1260059644),
        ];
        for (instances, offered, workers, capacity, held, refused) in cases {
            let levels = room_mean_field(offered, workers, capacity);
            let x = |k: usize| if k == 0 { 1.0 } else { levels.get(k - 1).copied().unwrap_or(0.0) };
            for k in 1..=capacity {
                let up = offered * (x(k - 1) * x(k - 1) - x(k) * x(k));
                let down = k.min(workers as usize) as f64 * (x(k) - x(k + 1));
                assert!((up - down).abs() < 1e-12, "level {k}: {up} against {down}");
            }
            let instance = refined(&levels, offered, workers, instances);
            assert!((instance.held - held).abs() < 1e-7, "{instances}×{workers} at {offered}: {}", instance.held);
            assert!(
                (instance.refused - refused).abs() < 1e-7,
                "{instances}×{workers} at {offered}: {}",
                instance.refused
            );
        }
    }

    /// The wait stays within the pooled M/M/(N·c) wait and the random split's M/M/c.
    #[test]
    fn the_wait_lies_between_one_pool_and_a_random_split() {
        for (instances, workers, rho) in [(2, 1, 0.9), (4, 1, 0.95), (16, 1, 0.9), (4, 4, 0.9), (1000, 1, 0.99)] {
            let rate = rho * f64::from(instances * workers) / 0.1;
            let wait = wait_s(instances, workers, rate, 0.1).unwrap();
            let pooled = mmc_wait_s(instances * workers, rate, 0.1).unwrap();
            let split = mmc_wait_s(workers, rate / f64::from(instances), 0.1).unwrap();
            assert!(pooled <= wait && wait <= split, "{instances}×{workers} at {rho}: {pooled} ≤ {wait} ≤ {split}");
        }
        assert_eq!(wait_s(4, 1, 40.0, 0.1), None);
    }
}
