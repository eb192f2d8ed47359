//! Sweep expansion: each axis's values (listed, a range, a geometric series), combined as a
//! grid or zipped into the points of an experiment.

use crate::{BatchError, Result};
use serde::Deserialize;
use sim_core::params::ParamValue;

/// Most points (and most values of one axis) a sweep may have.
pub const MAX_POINTS: usize = 100_000;

/// The values of an axis.
#[derive(Debug, Clone, Deserialize)]
pub enum AxisValues {
    /// Listed values: numbers, or names/text such as `"LeastConnections"` or `"800/s"`.
    List(Vec<AxisValue>),
    /// `from`, `from + step`, … up to `to` inclusive.
    Range {
        /// First value.
        from: f64,
        /// Last value (included when the steps land on it).
        to: f64,
        /// Step, positive.
        step: f64,
    },
    /// `from`, `from × factor`, … up to `to` inclusive.
    Geometric {
        /// First value.
        from: f64,
        /// Last value.
        to: f64,
        /// Factor, above 1.
        factor: f64,
    },
}

/// A listed value.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AxisValue {
    /// A number.
    Number(f64),
    /// A name or RON text.
    Text(String),
}

impl AxisValue {
    /// The value as put in the topology.
    pub fn to_param(&self) -> ParamValue {
        match self {
            AxisValue::Number(number) => ParamValue::Number(*number),
            AxisValue::Text(text) => ParamValue::Text(text.clone()),
        }
    }
}

/// How axes combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Combine {
    /// Every combination (the first axis varies slowest).
    #[default]
    Grid,
    /// The i-th values of every axis together (axes of equal length).
    Zip,
}

/// The points' values: the grid or zip of the axes' values, given as (name, values).
pub fn combinations(axes: &[(&str, &AxisValues)], combine: Combine) -> Result<Vec<Vec<ParamValue>>> {
    let mut lists = Vec::new();
    for (name, values) in axes {
        let axis_error = |problem: String| BatchError::Axis { axis: Some(name.to_string()), problem };
        let values = axis_values(values).map_err(axis_error)?;
        if values.is_empty() {
            return Err(BatchError::Axis { axis: None, problem: format!("axis \"{name}\" has no values") });
        }
        lists.push(values);
    }
    let combos: Vec<Vec<ParamValue>> = match combine {
        Combine::Grid => {
            let mut combos = vec![Vec::new()];
            for list in &lists {
                combos = combos
                    .into_iter()
                    .flat_map(|prefix| {
                        list.iter().map(move |value| {
                            let mut next = prefix.clone();
                            next.push(value.clone());
                            next
                        })
                    })
                    .collect();
                if combos.len() > MAX_POINTS {
                    break;
                }
            }
            combos
        }
        Combine::Zip => {
            let length = lists.first().map_or(1, Vec::len);
            if let Some(((name, _), list)) = axes.iter().zip(&lists).find(|(_, list)| list.len() != length) {
                return Err(BatchError::Axis {
                    axis: None,
                    problem: format!(
                        "Zip needs axes of equal length: \"{name}\" has {} values, the first axis {length}",
                        list.len()
                    ),
                });
            }
            (0..length).map(|i| lists.iter().map(|list| list[i].clone()).collect()).collect()
        }
    };
    if combos.len() > MAX_POINTS {
        return Err(BatchError::Axis {
            axis: None,
            problem: format!("the axes make more than {MAX_POINTS} points, over the limit"),
        });
    }
    Ok(combos)
}

fn axis_values(values: &AxisValues) -> std::result::Result<Vec<ParamValue>, String> {
    let stepped = |from: f64, to: f64, next: &dyn Fn(f64) -> f64| {
        let mut out = Vec::new();
        let mut value = from;
        while value <= to * (1.0 + 1e-9) + 1e-12 {
            out.push(ParamValue::Number((value * 1e9).round() / 1e9));
            if out.len() > MAX_POINTS {
                return Err(format!("the range has more than {MAX_POINTS} values"));
            }
            value = next(value);
        }
        Ok(out)
    };
    match values {
        AxisValues::List(list) => Ok(list.iter().map(AxisValue::to_param).collect()),
        AxisValues::Range { from, to, step } => {
            if step.is_nan() || *step <= 0.0 || !from.is_finite() || !to.is_finite() {
                return Err(format!("Range needs a positive step and finite ends (from {from}, to {to}, step {step})"));
            }
            if from > to {
                return Err(format!("Range counts up by its step, from {from} to {to}: give from {to}, to {from}"));
            }
            stepped(*from, *to, &|value| value + step)
        }
        AxisValues::Geometric { from, to, factor } => {
            if factor.is_nan() || *factor <= 1.0 || from.is_nan() || *from <= 0.0 || !to.is_finite() {
                return Err(format!("Geometric needs from > 0 and factor > 1 (from {from}, factor {factor})"));
            }
            if from > to {
                return Err(format!(
                    "Geometric counts up by its factor, from {from} to {to}: give from {to}, to {from}"
                ));
            }
            stepped(*from, *to, &|value| value * factor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbers(points: &[Vec<ParamValue>]) -> Vec<Vec<f64>> {
        let number = |value: &ParamValue| match value {
            ParamValue::Number(number) => *number,
            ParamValue::Text(_) => f64::NAN,
        };
        points.iter().map(|point| point.iter().map(number).collect()).collect()
    }

    #[test]
    fn grids_vary_the_first_axis_slowest_and_zips_pair_values() {
        let a = AxisValues::Range { from: 1.0, to: 2.0, step: 1.0 };
        let b = AxisValues::Geometric { from: 10.0, to: 40.0, factor: 2.0 };
        let grid = combinations(&[("a", &a), ("b", &b)], Combine::Grid).unwrap();
        assert_eq!(numbers(&grid), [[1.0, 10.0], [1.0, 20.0], [1.0, 40.0], [2.0, 10.0], [2.0, 20.0], [2.0, 40.0]]);
        let c = AxisValues::List(vec![AxisValue::Number(5.0), AxisValue::Number(6.0)]);
        assert_eq!(numbers(&combinations(&[("a", &a), ("c", &c)], Combine::Zip).unwrap()), [[1.0, 5.0], [2.0, 6.0]]);
        let error = combinations(&[("a", &a), ("b", &b)], Combine::Zip).unwrap_err().to_string();
        assert!(error.contains("equal length"), "{error}");
        let bad = AxisValues::Range { from: 1.0, to: 2.0, step: 0.0 };
        assert!(combinations(&[("bad", &bad)], Combine::Grid).unwrap_err().to_string().starts_with("axis \"bad\": "));
        let down = AxisValues::Range { from: 0.9, to: 0.5, step: 0.1 };
        let error = combinations(&[("down", &down)], Combine::Grid).unwrap_err().to_string();
        assert_eq!(error, "axis \"down\": Range counts up by its step, from 0.9 to 0.5: give from 0.5, to 0.9");
        let down = AxisValues::Geometric { from: 40.0, to: 10.0, factor: 2.0 };
        let error = combinations(&[("down", &down)], Combine::Grid).unwrap_err().to_string();
        assert_eq!(error, "axis \"down\": Geometric counts up by its factor, from 40 to 10: give from 10, to 40");
    }
}
