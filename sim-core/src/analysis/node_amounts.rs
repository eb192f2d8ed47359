//! An amount per node that few nodes have (a visit's calls, hand-offs or messages to each
//! node): the nodes with one, sorted, read as a row over every node with 0 elsewhere. A
//! visit reaches a handful of nodes, so a view of n nodes and k classes keeps O(n·k) of
//! them rather than n²·k (a gigabyte at the limit of 2000 nodes and 10 classes), and sums
//! over a visit's callees take its callees, not every node.

use crate::ids::NodeId;
use std::ops::{Index, IndexMut};

/// What reading a node without an amount gives.
static NONE: f64 = 0.0;

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct NodeAmounts {
    /// (node, amount), ascending by node.
    entries: Vec<(usize, f64)>,
}

impl NodeAmounts {
    /// The (node, amount) pairs of the nodes with an amount, ascending by node (an amount
    /// written as 0 included).
    pub fn iter(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.entries.iter().copied()
    }

    /// The nodes with an amount, ascending.
    pub fn nodes(&self) -> impl Iterator<Item = usize> + '_ {
        self.entries.iter().map(|&(node, _)| node)
    }

    /// The amounts summed in node order (as a sum over every node would, its zeros aside).
    pub fn total(&self) -> f64 {
        self.entries.iter().map(|&(_, amount)| amount).sum()
    }
}

impl Index<usize> for NodeAmounts {
    type Output = f64;

    fn index(&self, node: usize) -> &f64 {
        match self.entries.binary_search_by_key(&node, |&(at, _)| at) {
            Ok(position) => &self.entries[position].1,
            Err(_) => &NONE,
        }
    }
}

impl IndexMut<usize> for NodeAmounts {
    /// The node's amount to write, 0 when it had none.
    fn index_mut(&mut self, node: usize) -> &mut f64 {
        let position = match self.entries.binary_search_by_key(&node, |&(at, _)| at) {
            Ok(position) => position,
            Err(position) => {
                self.entries.insert(position, (node, 0.0));
                position
            }
        };
        &mut self.entries[position].1
    }
}

impl Index<NodeId> for NodeAmounts {
    type Output = f64;

    fn index(&self, node: NodeId) -> &f64 {
        &self[node.index()]
    }
}

impl IndexMut<NodeId> for NodeAmounts {
    fn index_mut(&mut self, node: NodeId) -> &mut f64 {
        &mut self[node.index()]
    }
}

/// The nodes any of `rows` has an amount for, ascending, each once.
pub(super) fn nodes_of(rows: &[&NodeAmounts]) -> Vec<usize> {
    let mut nodes: Vec<usize> = rows.iter().flat_map(|row| row.nodes()).collect();
    nodes.sort_unstable();
    nodes.dedup();
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads as a dense row, keeps its nodes sorted whatever the order of writes.
    #[test]
    fn reads_as_a_row_with_zeros_elsewhere() {
        let mut row = NodeAmounts::default();
        row[7] += 1.5;
        row[2] += 0.25;
        row[7] += 0.5;
        row[NodeId::new(4)] *= 3.0;
        assert_eq!(row[7], 2.0);
        assert_eq!(row[2], 0.25);
        assert_eq!(row[4], 0.0);
        assert_eq!(row[100], 0.0);
        assert_eq!(row.iter().collect::<Vec<_>>(), vec![(2, 0.25), (4, 0.0), (7, 2.0)]);
        assert_eq!(row.total(), 2.25);
        let mut other = NodeAmounts::default();
        other[3] = 1.0;
        other[7] = 1.0;
        assert_eq!(nodes_of(&[&row, &other]), vec![2, 3, 4, 7]);
    }
}
