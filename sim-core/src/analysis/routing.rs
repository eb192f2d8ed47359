//! A routing (each node's expected sends per visit to each other node) kept as sparse rows,
//! and the solve of x = b + Mx (response times) or x = b + xM (visit ratios) on it: one
//! pass in a topological order when no request can come back to a node, else block by
//! block, each loop's nodes (a strongly connected component) by Gaussian elimination. A
//! visit reaches a handful of nodes, so rows hold O(n) amounts, not n².

use super::visits::VisitEffect;
use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use std::borrow::Cow;

/// Per node, the nodes it sends to and how often per visit, ascending by node, zeros left out.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Routing {
    rows: Vec<Vec<(usize, f64)>>,
}

impl Routing {
    /// The routing whose row i holds `amount(effects[i], j)` for each node j its visit
    /// reaches.
    pub fn of(effects: &[VisitEffect], amount: impl Fn(&VisitEffect, usize) -> f64) -> Routing {
        let rows = effects
            .iter()
            .map(|effect| {
                (effect.reached.iter()).map(|&j| (j, amount(effect, j))).filter(|&(_, sends)| sends != 0.0).collect()
            })
            .collect();
        Routing { rows }
    }

    /// Each row i times `factors[i]` (a node that sends on only a share of its visits).
    pub fn scaled(mut self, factors: &[f64]) -> Routing {
        for (row, &factor) in self.rows.iter_mut().zip(factors).filter(|(_, &factor)| factor != 1.0) {
            for (_, sends) in row.iter_mut() {
                *sends *= factor;
            }
            row.retain(|&(_, sends)| sends != 0.0);
        }
        self
    }

    /// From dense rows (`matrix[i][j]`, i sending to j).
    #[cfg(test)]
    pub fn from_dense(matrix: &[Vec<f64>]) -> Routing {
        let rows = (matrix.iter())
            .map(|row| row.iter().copied().enumerate().filter(|&(_, sends)| sends != 0.0).collect())
            .collect();
        Routing { rows }
    }

    /// Row i of C in x = b + Cx: M's row i, or its column i for x = b + xM (ascending
    /// either way, as the rows are filled in node order).
    fn coefficient_rows(&self, transpose: bool) -> Cow<'_, [Vec<(usize, f64)>]> {
        if !transpose {
            return Cow::Borrowed(&self.rows);
        }
        let mut columns = vec![Vec::new(); self.rows.len()];
        for (i, row) in self.rows.iter().enumerate() {
            for &(j, sends) in row {
                columns[j].push((i, sends));
            }
        }
        Cow::Owned(columns)
    }
}

/// Solves `x = b + xM` (`transpose`: visit ratios) or `x = b + Mx`: in one pass in a
/// topological order when the routing has no loop (`solve_acyclic`), else block by block
/// (`solve_by_blocks`). `None` when a loop never lets a request go (its equations are
/// singular); infinite where a loop sends round more than comes in (a timed call's retries
/// can multiply a loop's sends past 1 per request) and wherever such a loop sends to.
pub(super) fn solve(routing: &Routing, rhs: &[f64], transpose: bool) -> Option<Vec<f64>> {
    let rows = routing.coefficient_rows(transpose);
    match solve_acyclic(&rows, rhs) {
        Some(solved) => solved,
        None => solve_by_blocks(&rows, rhs),
    }
}

/// x = b + Cx with loops: the strongly connected components of "i needs x_j" (Tarjan's,
/// which lists them dependencies first), each solved once the ones it needs are: a node on
/// no loop as `solve_acyclic` takes it, a loop's nodes by elimination on their block alone,
/// the x they need from outside it moved into b. A loop of k nodes costs O(k³), not the
/// whole routing's O(n³) with its n² matrix.
fn solve_by_blocks(rows: &[Vec<(usize, f64)>], rhs: &[f64]) -> Option<Vec<f64>> {
    let n = rhs.len();
    let mut graph = DiGraph::<(), ()>::with_capacity(n, rows.iter().map(Vec::len).sum());
    let nodes: Vec<_> = (0..n).map(|_| graph.add_node(())).collect();
    for (i, row) in rows.iter().enumerate() {
        for &(j, _) in row.iter().filter(|&&(j, _)| j != i) {
            graph.add_edge(nodes[i], nodes[j], ());
        }
    }
    const OUTSIDE: usize = usize::MAX;
    // Each node's place in the block being solved, OUTSIDE for every other node.
    let mut place = vec![OUTSIDE; n];
    let mut x = vec![0.0; n];
    for component in tarjan_scc(&graph) {
        let mut members: Vec<usize> = component.iter().map(|node| node.index()).collect();
        members.sort_unstable();
        if let [i] = members[..] {
            x[i] = solve_one(rows, rhs, &x, i)?;
            continue;
        }
        for (k, &i) in members.iter().enumerate() {
            place[i] = k;
        }
        let (mut block_rows, mut block_rhs) = (Vec::with_capacity(members.len()), Vec::with_capacity(members.len()));
        for &i in &members {
            let (mut inside, mut outside) = (Vec::new(), 0.0);
            for &(j, c) in &rows[i] {
                if place[j] != OUTSIDE {
                    inside.push((place[j], c));
                } else {
                    outside += c * x[j];
                }
            }
            block_rows.push(inside);
            block_rhs.push(rhs[i] + outside);
        }
        // Every node of a loop reaches every other, so what comes in endlessly anywhere goes
        // round to all of them.
        let block_x = if block_rhs.iter().any(|b| b.is_infinite()) {
            vec![f64::INFINITY; members.len()]
        } else {
            let solved = solve_by_elimination(&block_rows, &block_rhs)?;
            let scale = solved.iter().fold(0.0, |largest: f64, x| largest.max(x.abs()));
            if solved.iter().any(|&x| x < -1e-9 * scale) {
                // The loop sends round more than comes in (its gain, the spectral radius of
                // its coefficients, is above 1; a timed call's retries can do that): x = b +
                // Cx then has no solution at or above 0 (Perron–Frobenius), and requests
                // multiply round it for ever.
                vec![f64::INFINITY; members.len()]
            } else {
                solved
            }
        };
        for (&i, value) in members.iter().zip(block_x) {
            x[i] = value;
            place[i] = OUTSIDE;
        }
    }
    Some(x)
}

/// x = b + Cx by Gauss–Jordan elimination with partial pivoting on the dense I − C: any
/// routing, loops included.
fn solve_by_elimination(rows: &[Vec<(usize, f64)>], rhs: &[f64]) -> Option<Vec<f64>> {
    let n = rhs.len();
    let mut a: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let mut row: Vec<f64> = (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect();
            for &(j, c) in &rows[i] {
                row[j] = if i == j { 1.0 } else { 0.0 } - c;
            }
            row
        })
        .collect();
    let mut b = rhs.to_vec();
    for column in 0..n {
        let pivot = (column..n).max_by(|x, y| a[*x][column].abs().total_cmp(&a[*y][column].abs()))?;
        if a[pivot][column].abs() < 1e-12 {
            return None;
        }
        a.swap(column, pivot);
        b.swap(column, pivot);
        // The pivot row, out of the matrix while the others take multiples of it.
        let pivot_row = std::mem::take(&mut a[column]);
        for row in 0..n {
            if row != column {
                let factor = a[row][column] / pivot_row[column];
                if factor != 0.0 {
                    for (cell, pivot_cell) in a[row].iter_mut().zip(&pivot_row).skip(column) {
                        *cell -= factor * pivot_cell;
                    }
                    b[row] -= factor * b[column];
                }
            }
        }
        a[column] = pivot_row;
    }
    Some((0..n).map(|i| b[i] / a[i][i]).collect())
}

/// x = b + Cx where no node's dependencies, however far on, lead back to it (a node may
/// depend on itself): each x_i needs only the x_j its row names, and a topological order of
/// those dependencies gives them all in one pass, O(n + amounts). `None` when the routing
/// has a loop; `Some(None)` when a node's own loop leaves its equation without a solution
/// (as the elimination's zero pivot would).
fn solve_acyclic(rows: &[Vec<(usize, f64)>], rhs: &[f64]) -> Option<Option<Vec<f64>>> {
    let n = rhs.len();
    let mut needed_by: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut missing = vec![0usize; n];
    for (i, row) in rows.iter().enumerate() {
        for &(j, _) in row.iter().filter(|&&(j, _)| j != i) {
            needed_by[j].push(i);
            missing[i] += 1;
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| missing[i] == 0).collect();
    let mut x = vec![0.0; n];
    let mut solved = 0;
    while let Some(i) = ready.pop() {
        let Some(value) = solve_one(rows, rhs, &x, i) else { return Some(None) };
        x[i] = value;
        solved += 1;
        for &k in &needed_by[i] {
            missing[k] -= 1;
            if missing[k] == 0 {
                ready.push(k);
            }
        }
    }
    (solved == n).then_some(Some(x))
}

/// x_i = (b_i + Σ_{j≠i} C_ij x_j) / (1 − C_ii), once every x_j it needs is in `x`; `None`
/// when its own loop never lets a request go (1 − C_ii is 0), infinite when what comes in
/// is (or its own loop sends back more than 1 for each: requests multiply for ever).
fn solve_one(rows: &[Vec<(usize, f64)>], rhs: &[f64], x: &[f64], i: usize) -> Option<f64> {
    let own = 1.0 - rows[i].iter().find(|&&(j, _)| j == i).map_or(0.0, |&(_, c)| c);
    if own.abs() < 1e-12 {
        return None;
    }
    let others: f64 = rows[i].iter().filter(|&&(j, _)| j != i).map(|&(j, c)| c * x[j]).sum();
    let inflow = rhs[i] + others;
    if own < 0.0 {
        return Some(if inflow > 0.0 { f64::INFINITY } else { 0.0 });
    }
    Some(inflow / own)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass solve of a routing without loops agrees with the elimination, both ways
    /// round, on random call graphs (calls only to later nodes, some more than once per
    /// visit, some nodes calling themselves); a loop goes to the elimination.
    #[test]
    fn acyclic_routing_solves_as_the_elimination_does() {
        let mut stream = crate::rng::RandomStream::derive(11, "solve test", crate::rng::Purpose::Arrivals);
        for n in [1usize, 2, 5, 30] {
            let mut matrix = vec![vec![0.0; n]; n];
            for (i, row) in matrix.iter_mut().enumerate() {
                for (j, cell) in row.iter_mut().enumerate().skip(i) {
                    if stream.below(3) == 0 {
                        *cell = if i == j { 0.5 * stream.open01() } else { 2.0 * stream.open01() };
                    }
                }
            }
            // Node order shuffled, so that the topological order is not the index order.
            let order: Vec<usize> = (0..n).rev().collect();
            let shuffled: Vec<Vec<f64>> =
                (0..n).map(|i| (0..n).map(|j| matrix[order[i]][order[j]]).collect()).collect();
            let routing = Routing::from_dense(&shuffled);
            let rhs: Vec<f64> = (0..n).map(|i| i as f64 + 1.0).collect();
            for transpose in [false, true] {
                let rows = routing.coefficient_rows(transpose);
                let fast = solve_acyclic(&rows, &rhs).expect("no loop").expect("solvable");
                let slow = solve_by_elimination(&rows, &rhs).expect("solvable");
                for (a, b) in fast.iter().zip(&slow) {
                    assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "n {n}, transpose {transpose}: {a} against {b}");
                }
            }
        }
        let looped = Routing::from_dense(&[vec![0.0, 0.5], vec![0.5, 0.0]]);
        assert_eq!(solve_acyclic(&looped.coefficient_rows(false), &[1.0, 0.0]), None);
        let solved = solve(&looped, &[1.0, 0.0], false).unwrap();
        assert!((solved[0] - 4.0 / 3.0).abs() < 1e-12 && (solved[1] - 2.0 / 3.0).abs() < 1e-12, "{solved:?}");
        // x = 1 + 0.5 x₁ and, the other way round, x₀ = 1 + 0.5 x₁, x₁ = 0.5 x₀ only when
        // transposed: the column is read.
        let one_way = Routing::from_dense(&[vec![0.0, 0.5], vec![0.0, 0.0]]);
        assert_eq!(solve(&one_way, &[1.0, 1.0], false), Some(vec![1.5, 1.0]));
        assert_eq!(solve(&one_way, &[1.0, 1.0], true), Some(vec![1.0, 1.5]));
        let stuck = Routing::from_dense(&[vec![1.0]]);
        assert_eq!(solve(&stuck, &[1.0], false), None, "a node that always calls itself never answers");
    }

    /// Block by block agrees with eliminating the whole routing, both ways round, on random
    /// routings with loops (each row's sends below 1 in all, so every request leaves; some
    /// rows send back to earlier nodes), shuffled; a loop that never lets go has none.
    #[test]
    fn looped_routing_solves_block_by_block_as_the_whole_elimination_does() {
        let mut stream = crate::rng::RandomStream::derive(12, "block test", crate::rng::Purpose::Arrivals);
        for n in [2usize, 3, 8, 40] {
            for _ in 0..5 {
                let mut matrix = vec![vec![0.0; n]; n];
                for (i, row) in matrix.iter_mut().enumerate() {
                    let mut left = 0.95;
                    for (j, cell) in row.iter_mut().enumerate() {
                        // Mostly forward, now and then back (a loop), sometimes to itself.
                        let odds = if j > i {
                            3
                        } else if j == i {
                            8
                        } else {
                            6
                        };
                        if stream.below(odds) == 0 {
                            *cell = left * 0.6 * stream.open01();
                            left -= *cell;
                        }
                    }
                }
                let order: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % n).collect();
                let shuffled: Vec<Vec<f64>> =
                    (0..n).map(|i| (0..n).map(|j| matrix[order[i]][order[j]]).collect()).collect();
                let routing = Routing::from_dense(&shuffled);
                let rhs: Vec<f64> = (0..n).map(|i| 1.0 + i as f64 * 0.5).collect();
                for transpose in [false, true] {
                    let rows = routing.coefficient_rows(transpose);
                    let blocks = solve_by_blocks(&rows, &rhs).expect("solvable");
                    let whole = solve_by_elimination(&rows, &rhs).expect("solvable");
                    for (a, b) in blocks.iter().zip(&whole) {
                        assert!(
                            (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                            "n {n}, transpose {transpose}: {a} against {b}"
                        );
                    }
                }
            }
        }
        // 0 → 1 → 2 ⇄ 3 and back to 1 from 3: the blocks {0}, {1, 2, 3} (found dependencies
        // first), solved by hand; a loop whose sends add to 1 never lets a request go.
        let looped = Routing::from_dense(&[
            vec![0.0, 1.0, 0.0, 0.0],
            vec![0.0, 0.0, 1.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.5],
            vec![0.0, 0.5, 0.0, 0.0],
        ]);
        let x = solve(&looped, &[1.0; 4], false).expect("solvable");
        // x₁ = 1 + x₂, x₂ = 1 + x₃/2, x₃ = 1 + x₁/2: x₁ = 5/2 + x₁/4 = 10/3, x₀ = 1 + x₁.
        let expected = [13.0 / 3.0, 10.0 / 3.0, 7.0 / 3.0, 8.0 / 3.0];
        for (a, b) in x.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{x:?}");
        }
        let forever = Routing::from_dense(&[vec![0.0, 1.0], vec![1.0, 0.0]]);
        assert_eq!(solve(&forever, &[1.0, 1.0], false), None);
    }

    /// A loop that sends round more than comes in (a gain above 1, which a timed call's
    /// retries can make) has no solution at or above 0: the linear solve's answer is
    /// negative, and the loop's nodes, with what they feed, come out infinite; a node that
    /// sends itself more than 1 the same. With nothing coming in, nothing goes round.
    #[test]
    fn a_loop_that_sends_round_more_than_comes_in_grows_without_end() {
        // 0 → {1 ⇄ 2} → 3, the loop's gain 0.8 × 1.5 = 1.2; and the same below 1.
        let routing = |back: f64| {
            Routing::from_dense(&[
                vec![0.0, 1.0, 0.0, 0.0],
                vec![0.0, 0.0, 0.8, 0.0],
                vec![0.0, back, 0.0, 0.5],
                vec![0.0, 0.0, 0.0, 0.0],
            ])
        };
        let whole = solve_by_elimination(&routing(1.5).coefficient_rows(true), &[1.0, 0.0, 0.0, 0.0]).unwrap();
        assert!(whole.iter().any(|&x| x < 0.0), "the plain linear solve: {whole:?}");
        let visits = solve(&routing(1.5), &[1.0, 0.0, 0.0, 0.0], true).unwrap();
        assert_eq!(visits[0], 1.0);
        assert!(visits[1..].iter().all(|x| x.is_infinite() && *x > 0.0), "{visits:?}");
        // Visits x = e + xP: x₁ = 1 + 0.5 x₂ ... with the gain at 0.4: x₁ = 1/(1 − 0.4).
        let settled = solve(&routing(0.5), &[1.0, 0.0, 0.0, 0.0], true).unwrap();
        let expected = [1.0, 1.0 / 0.6, 0.8 / 0.6, 0.4 / 0.6];
        for (a, b) in settled.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{settled:?}");
        }
        // Nothing enters the loop: nothing goes round it.
        assert_eq!(solve(&routing(1.5), &[0.0, 0.0, 0.0, 1.0], true), Some(vec![0.0, 0.0, 0.0, 1.0]));
        // A node that sends itself 1.5 of each request.
        let own = Routing::from_dense(&[vec![0.0, 1.0], vec![0.0, 1.5]]);
        let x = solve(&own, &[1.0, 0.0], true).unwrap();
        assert!(x[0] == 1.0 && x[1].is_infinite(), "{x:?}");
        assert_eq!(solve(&own, &[0.0, 0.0], true), Some(vec![0.0, 0.0]));
    }
}
