//! Quasi-birth-death processes: Markov chains whose levels (a count) move up or down by one
//! at a time and whose transitions repeat from some level up. A small dense matrix, the rate
//! matrix R of the repeating levels by logarithmic reduction (Latouche and Ramaswami,
//! *Introduction to Matrix Analytic Methods in Stochastic Modeling*, 1999, §8.4 and §6.4),
//! and the left null vector that gives the lowest level's probabilities.

/// A dense matrix, row by row.
#[derive(Clone, Debug)]
pub(super) struct Matrix {
    pub rows: usize,
    pub columns: usize,
    cells: Vec<f64>,
}

impl Matrix {
    pub(super) fn zeros(rows: usize, columns: usize) -> Self {
        Self { rows, columns, cells: vec![0.0; rows * columns] }
    }

    pub(super) fn identity(n: usize) -> Self {
        let mut identity = Self::zeros(n, n);
        for i in 0..n {
            identity.set(i, i, 1.0);
        }
        identity
    }

    pub(super) fn at(&self, row: usize, column: usize) -> f64 {
        self.cells[row * self.columns + column]
    }

    pub(super) fn set(&mut self, row: usize, column: usize, value: f64) {
        self.cells[row * self.columns + column] = value;
    }

    pub(super) fn times(&self, other: &Matrix) -> Matrix {
        debug_assert_eq!(self.columns, other.rows);
        let mut product = Matrix::zeros(self.rows, other.columns);
        for i in 0..self.rows {
            for k in 0..self.columns {
                let a = self.at(i, k);
                if a == 0.0 {
                    continue;
                }
                let row = &other.cells[k * other.columns..(k + 1) * other.columns];
                for (cell, b) in product.cells[i * other.columns..(i + 1) * other.columns].iter_mut().zip(row) {
                    *cell += a * b;
                }
            }
        }
        product
    }

    /// This matrix times `other`, which has few entries (a level's arrivals or answers: one
    /// a row), in the time of a pass over this matrix per entry's column.
    pub(super) fn times_sparse(&self, other: &Matrix) -> Matrix {
        debug_assert_eq!(self.columns, other.rows);
        let mut product = Matrix::zeros(self.rows, other.columns);
        for k in 0..other.rows {
            for j in (0..other.columns).filter(|&j| other.at(k, j) != 0.0) {
                let b = other.at(k, j);
                for i in 0..self.rows {
                    product.cells[i * other.columns + j] += self.at(i, k) * b;
                }
            }
        }
        product
    }

    pub(super) fn plus(mut self, other: &Matrix, factor: f64) -> Matrix {
        for (cell, b) in self.cells.iter_mut().zip(&other.cells) {
            *cell += factor * b;
        }
        self
    }

    pub(super) fn scaled(mut self, factor: f64) -> Matrix {
        self.cells.iter_mut().for_each(|cell| *cell *= factor);
        self
    }

    /// The inverse by Gauss–Jordan elimination with partial pivoting; `None` when singular.
    pub(super) fn inverse(&self) -> Option<Matrix> {
        let n = self.rows;
        let mut a = self.clone();
        let mut inverse = Matrix::identity(n);
        for column in 0..n {
            let pivot = (column..n).max_by(|&x, &y| a.at(x, column).abs().total_cmp(&a.at(y, column).abs()))?;
            let pivot_value = a.at(pivot, column);
            if pivot_value.abs() < 1e-300 || !pivot_value.is_finite() {
                return None;
            }
            for m in [&mut a, &mut inverse] {
                for j in 0..n {
                    m.cells.swap(column * n + j, pivot * n + j);
                }
                for j in 0..n {
                    m.cells[column * n + j] /= pivot_value;
                }
            }
            for row in 0..n {
                let factor = a.at(row, column);
                if row == column || factor == 0.0 {
                    continue;
                }
                for m in [&mut a, &mut inverse] {
                    for j in 0..n {
                        let value = m.at(column, j);
                        m.cells[row * n + j] -= factor * value;
                    }
                }
            }
        }
        Some(inverse)
    }

    /// The row vector x with x·M = 0 and entries summing to 1, for a square M whose rows
    /// sum to 0 and whose null space is one line (a chain's generator, or its lowest level's
    /// once the levels above are reduced into it); `None` when singular otherwise.
    pub(super) fn left_null_vector(&self) -> Option<Vec<f64>> {
        let n = self.rows;
        // Mᵀ xᵀ = 0 with its last equation (implied by the others) replaced by Σ x = 1.
        let mut system = Matrix::zeros(n, n);
        for i in 0..n {
            for j in 0..n {
                system.set(j, i, if j + 1 == n { 1.0 } else { self.at(i, j) });
            }
        }
        let inverse = system.inverse()?;
        Some((0..n).map(|i| inverse.at(i, n - 1)).collect())
    }

    /// The row vector `vector` times this matrix.
    pub(super) fn left_times(&self, vector: &[f64]) -> Vec<f64> {
        (0..self.columns).map(|j| (0..self.rows).map(|i| vector[i] * self.at(i, j)).sum()).collect()
    }

    /// This matrix times the column vector `vector`.
    pub(super) fn times_vector(&self, vector: &[f64]) -> Vec<f64> {
        (0..self.rows).map(|i| (0..self.columns).map(|j| self.at(i, j) * vector[j]).sum()).collect()
    }
}

/// R of the repeating levels, the least nonnegative solution of A0 + R A1 + R² A2 = 0, as
/// A0 (−A1 − A0 G)⁻¹ with G (A2 + A1 G + A0 G² = 0) by logarithmic reduction; `None` where G
/// is not stochastic (the levels drift up: saturated) or does not settle.
pub(super) fn rate_matrix(up: &Matrix, local: &Matrix, down: &Matrix) -> Option<Matrix> {
    let n = local.rows;
    let minus_local_inverse = local.clone().scaled(-1.0).inverse()?;
    let mut b_up = minus_local_inverse.times_sparse(up);
    let mut b_down = minus_local_inverse.times_sparse(down);
    let mut g = b_down.clone();
    let mut paths = b_up.clone();
    for _ in 0..64 {
        let mixed = b_up.times(&b_down).plus(&b_down.times(&b_up), 1.0);
        let renewal = Matrix::identity(n).plus(&mixed, -1.0).inverse()?;
        let next_up = renewal.times(&b_up.times(&b_up));
        let next_down = renewal.times(&b_down.times(&b_down));
        let step = paths.times(&next_down);
        let settled = step.cells.iter().all(|cell| cell.abs() < 1e-15);
        g = g.plus(&step, 1.0);
        paths = paths.times(&next_up);
        (b_up, b_down) = (next_up, next_down);
        let shortfall = (0..n).map(|i| 1.0 - (0..n).map(|j| g.at(i, j)).sum::<f64>()).fold(0.0f64, f64::max);
        if shortfall.abs() < 1e-13 || settled {
            if shortfall.abs() > 1e-8 {
                return None;
            }
            let u = local.clone().plus(&up.times(&g), 1.0).scaled(-1.0);
            return Some(up.times(&u.inverse()?));
        }
    }
    None
}
