//! The windows a time series keeps, in bounded memory whatever the run's length: at most
//! `capacity` records, in flat tables (a row per record, and a row of figures per node, per
//! quantile, per outcome and per SLO). When the records are full, neighbours merge in pairs
//! and each later record spans twice as many of the scenario's windows, so a long run keeps
//! its whole timeline at a coarser grain.
//!
//! Merging sums what adds up (requests, errors, busy and waiting areas, capacity), keeps the
//! later record's state (instances, concurrency limit), takes the highest of the latency
//! quantiles (a merged record's p99 is the worst p99 of its windows: never below the truth
//! for any of them) and holds an SLO only if it held in each window where it was judged.

use super::requests::Outcome;

/// Most records a store keeps.
pub const MAX_RECORDS: usize = 4096;
/// Most node rows the records of a store may hold together, about 100 bytes each.
pub const MAX_RECORD_CELLS: usize = 500_000;

/// Most records the store of a topology with `nodes` nodes keeps: `MAX_RECORDS`, fewer for
/// large topologies so that records × (nodes + 1) stays within `MAX_RECORD_CELLS`, and
/// never fewer than 64.
pub fn max_records(nodes: usize) -> usize {
    (MAX_RECORD_CELLS / (nodes + 1)).clamp(64, MAX_RECORDS)
}

/// What a node did over a record's windows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct NodeWindow {
    pub completions: u64,
    pub errors: u64,
    /// Busy worker time, in worker·ns.
    pub busy_area: u128,
    /// Waiting requests, in request·ns.
    pub queue_area: u128,
    /// Workers serving (instances serving at each window's end × workers), in worker·ns.
    pub capacity_area: u128,
    /// Instances serving at the record's end.
    pub instances: u32,
    /// Workers per instance (0 for nodes without workers).
    pub workers: u32,
    pub p50_ns: Option<u64>,
    pub p99_ns: Option<u64>,
    /// The mean adaptive concurrency limit of its instances serving at the record's end.
    pub concurrency_limit: Option<f64>,
}

impl NodeWindow {
    /// The share of its workers busy (`None` for nodes without workers; 0 when none served).
    pub fn utilization(&self) -> Option<f64> {
        (self.workers > 0).then(|| {
            if self.capacity_area > 0 {
                self.busy_area as f64 / self.capacity_area as f64
            } else {
                0.0
            }
        })
    }

    /// The mean number waiting over a record `width_ns` long.
    pub fn queue_length(&self, width_ns: u64) -> f64 {
        self.queue_area as f64 / width_ns.max(1) as f64
    }

    fn absorb(&mut self, later: &NodeWindow) {
        self.completions += later.completions;
        self.errors += later.errors;
        self.busy_area += later.busy_area;
        self.queue_area += later.queue_area;
        self.capacity_area += later.capacity_area;
        self.instances = later.instances;
        self.workers = later.workers;
        self.p50_ns = self.p50_ns.max(later.p50_ns);
        self.p99_ns = self.p99_ns.max(later.p99_ns);
        self.concurrency_limit = later.concurrency_limit;
    }
}

/// What the system did over a record's windows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct WindowRecord {
    pub start_ns: u64,
    pub end_ns: u64,
    pub completed: u64,
    /// Requests that ended in it (any terminal state).
    pub finished: u64,
    /// The scenario's windows it spans.
    pub windows: u32,
}

/// One record with its rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordView<'a> {
    pub record: &'a WindowRecord,
    /// Per node, in the topology's order.
    pub nodes: &'a [NodeWindow],
    /// Per quantile of the series, in its order (`None` when no request completed).
    pub quantiles: &'a [Option<u64>],
    /// Unsuccessful requests, indexed by `Outcome as usize`.
    pub errors: &'a [u64],
    /// Per SLO, in order: whether it held in every window where it was judged (`None`: not
    /// judged in any, for want of requests or in the warm-up).
    pub slo_held: &'a [Option<bool>],
}

impl RecordView<'_> {
    /// The errors by outcome, in the outcomes' order, without the zero counts.
    pub fn errors_by_outcome(&self) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        Outcome::ALL.iter().zip(self.errors).filter(|(_, count)| **count > 0).map(|(outcome, count)| (*outcome, *count))
    }
}

/// One record's rows, to add a later window to.
struct Rows<'a> {
    record: &'a mut WindowRecord,
    nodes: &'a mut [NodeWindow],
    quantiles: &'a mut [Option<u64>],
    errors: &'a mut [u64],
    slo_held: &'a mut [Option<bool>],
}

impl Rows<'_> {
    #[inline(always)]
    fn absorb(self, later: RecordView<'_>) {
        self.record.end_ns = later.record.end_ns;
        self.record.completed += later.record.completed;
        self.record.finished += later.record.finished;
        self.record.windows += later.record.windows;
        for (node, later) in self.nodes.iter_mut().zip(later.nodes) {
            node.absorb(later);
        }
        for (value, later) in self.quantiles.iter_mut().zip(later.quantiles) {
            *value = (*value).max(*later);
        }
        // Every request that ended without completing is an error: none ended so, none to add.
        if later.record.finished > later.record.completed {
            for (count, later) in self.errors.iter_mut().zip(later.errors) {
                *count += later;
            }
        }
        for (held, later) in self.slo_held.iter_mut().zip(later.slo_held) {
            *held = match (*held, *later) {
                (Some(a), Some(b)) => Some(a && b),
                (a, b) => a.or(b),
            };
        }
    }
}

/// A table of rows of `width` cells each, stored flat.
#[derive(Debug)]
struct Table<T> {
    width: usize,
    cells: Vec<T>,
}

impl<T: Copy> Table<T> {
    fn new(width: usize) -> Self {
        Self { width, cells: Vec::new() }
    }

    fn row(&self, index: usize) -> &[T] {
        &self.cells[index * self.width..][..self.width]
    }

    /// The last row, to change.
    fn last_row_mut(&mut self) -> &mut [T] {
        let start = self.cells.len() - self.width;
        &mut self.cells[start..]
    }

    /// Row `to` to change and row `from` to read (`to` < `from`).
    fn pair_mut(&mut self, to: usize, from: usize) -> (&mut [T], &[T]) {
        let (head, tail) = self.cells.split_at_mut(from * self.width);
        (&mut head[to * self.width..][..self.width], &tail[..self.width])
    }

    fn push(&mut self, row: &[T]) {
        debug_assert_eq!(row.len(), self.width);
        self.cells.extend_from_slice(row);
    }

    /// Overwrites row `to` with row `from`.
    fn copy(&mut self, from: usize, to: usize) {
        self.cells.copy_within(from * self.width..(from + 1) * self.width, to * self.width);
    }

    fn truncate(&mut self, rows: usize) {
        self.cells.truncate(rows * self.width);
    }

    fn clear(&mut self) {
        self.cells.clear();
    }
}

/// The records, bounded.
#[derive(Debug)]
pub(crate) struct SeriesStore {
    capacity: usize,
    /// The scenario's windows each full record spans (a power of two).
    span: u32,
    records: Table<WindowRecord>,
    nodes: Table<NodeWindow>,
    quantiles: Table<Option<u64>>,
    errors: Table<u64>,
    slo_held: Table<Option<bool>>,
}

impl SeriesStore {
    /// A store of at most `capacity` records (rounded up to an even number, at least 2).
    pub fn new(capacity: usize, node_count: usize, quantile_count: usize, slo_count: usize) -> Self {
        Self {
            capacity: capacity.max(2).next_multiple_of(2),
            span: 1,
            records: Table::new(1),
            nodes: Table::new(node_count),
            quantiles: Table::new(quantile_count),
            errors: Table::new(Outcome::ALL.len()),
            slo_held: Table::new(slo_count),
        }
    }

    /// The scenario's windows a full record spans.
    pub fn span(&self) -> u32 {
        self.span
    }

    pub fn len(&self) -> usize {
        self.records.cells.len()
    }

    /// Record `index`.
    pub fn get(&self, index: usize) -> RecordView<'_> {
        RecordView {
            record: &self.records.cells[index],
            nodes: self.nodes.row(index),
            quantiles: self.quantiles.row(index),
            errors: self.errors.row(index),
            slo_held: self.slo_held.row(index),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = RecordView<'_>> {
        (0..self.len()).map(|index| self.get(index))
    }

    /// Forgets every record (the windows were read) and starts again at one window a record.
    pub fn clear(&mut self) {
        self.span = 1;
        self.records.clear();
        self.nodes.clear();
        self.quantiles.clear();
        self.errors.clear();
        self.slo_held.clear();
    }

    /// Adds one of the scenario's windows: to the last record while it spans fewer than
    /// `span` windows, else as a new record, after merging the records in pairs when they
    /// are full.
    pub fn push(&mut self, window: RecordView<'_>) {
        debug_assert_eq!(window.record.windows, 1);
        if self.records.cells.last().is_some_and(|last| last.windows < self.span) {
            let rows = Rows {
                record: &mut self.records.last_row_mut()[0],
                nodes: self.nodes.last_row_mut(),
                quantiles: self.quantiles.last_row_mut(),
                errors: self.errors.last_row_mut(),
                slo_held: self.slo_held.last_row_mut(),
            };
            rows.absorb(window);
            return;
        }
        if self.len() == self.capacity {
            self.merge_pairs();
        }
        self.records.push(std::slice::from_ref(window.record));
        self.nodes.push(window.nodes);
        self.quantiles.push(window.quantiles);
        self.errors.push(window.errors);
        self.slo_held.push(window.slo_held);
    }

    /// Merges records 2k and 2k + 1 into record k, for every k, and doubles the span. Runs
    /// when the records are full, so all of them span `span` windows.
    #[cold]
    fn merge_pairs(&mut self) {
        let half = self.len() / 2;
        for k in 0..half {
            let (first, later) = (2 * k, 2 * k + 1);
            self.records.copy(first, k);
            self.nodes.copy(first, k);
            self.quantiles.copy(first, k);
            self.errors.copy(first, k);
            self.slo_held.copy(first, k);
            let (record, later_record) = self.records.pair_mut(k, later);
            let (nodes, later_nodes) = self.nodes.pair_mut(k, later);
            let (quantiles, later_quantiles) = self.quantiles.pair_mut(k, later);
            let (errors, later_errors) = self.errors.pair_mut(k, later);
            let (slo_held, later_slo_held) = self.slo_held.pair_mut(k, later);
            let rows = Rows { record: &mut record[0], nodes, quantiles, errors, slo_held };
            rows.absorb(RecordView {
                record: &later_record[0],
                nodes: later_nodes,
                quantiles: later_quantiles,
                errors: later_errors,
                slo_held: later_slo_held,
            });
        }
        self.records.truncate(half);
        self.nodes.truncate(half);
        self.quantiles.truncate(half);
        self.errors.truncate(half);
        self.slo_held.truncate(half);
        self.span *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One window's rows, owned.
    struct Window {
        record: WindowRecord,
        nodes: Vec<NodeWindow>,
        quantiles: Vec<Option<u64>>,
        errors: Vec<u64>,
        slo_held: Vec<Option<bool>>,
    }

    impl Window {
        fn view(&self) -> RecordView<'_> {
            RecordView {
                record: &self.record,
                nodes: &self.nodes,
                quantiles: &self.quantiles,
                errors: &self.errors,
                slo_held: &self.slo_held,
            }
        }
    }

    fn window(index: u64, completed: u64, p99_ns: u64, held: bool) -> Window {
        let record = WindowRecord {
            start_ns: index * 10,
            end_ns: (index + 1) * 10,
            completed,
            finished: completed + 1,
            windows: 1,
        };
        let node = NodeWindow {
            completions: completed,
            errors: 1,
            busy_area: 5,
            queue_area: index as u128,
            capacity_area: 10,
            instances: index as u32,
            workers: 2,
            p50_ns: Some(p99_ns / 2),
            p99_ns: Some(p99_ns),
            concurrency_limit: None,
        };
        let mut errors = vec![0; Outcome::ALL.len()];
        errors[Outcome::Timeout as usize] = 1;
        Window { record, nodes: vec![node], quantiles: vec![Some(p99_ns)], errors, slo_held: vec![Some(held)] }
    }

    fn push(store: &mut SeriesStore, index: u64, completed: u64, p99_ns: u64, held: bool) {
        store.push(window(index, completed, p99_ns, held).view());
    }

    /// However many windows go in, the store keeps at most its capacity, covers the whole
    /// timeline without gaps, and its totals are the windows' totals.
    #[test]
    fn merging_keeps_the_timeline_and_the_totals_within_the_capacity() {
        for count in [1u64, 2, 7, 8, 9, 16, 17, 100, 1000] {
            let mut store = SeriesStore::new(8, 1, 1, 1);
            for index in 0..count {
                push(&mut store, index, index, 100 + index, index != 5);
            }
            assert!(store.len() <= 8, "{count}: {} records", store.len());
            let records: Vec<_> = store.iter().collect();
            assert_eq!(records[0].record.start_ns, 0);
            assert_eq!(records.last().unwrap().record.end_ns, count * 10);
            assert!(records.windows(2).all(|pair| pair[0].record.end_ns == pair[1].record.start_ns));
            let windows: u64 = records.iter().map(|r| u64::from(r.record.windows)).sum();
            assert_eq!(windows, count);
            let completed: u64 = records.iter().map(|r| r.record.completed).sum();
            assert_eq!(completed, count * (count - 1) / 2);
            let timeouts: u64 = records.iter().map(|r| r.errors[Outcome::Timeout as usize]).sum();
            assert_eq!(timeouts, count);
            let queue_area: u128 = records.iter().map(|r| r.nodes[0].queue_area).sum();
            assert_eq!(queue_area, u128::from(count * (count - 1) / 2));
            // Each record: the worst p99 of its windows, the last window's instances, and the
            // SLO failed only in the record holding window 5.
            for view in &records {
                let last_window = view.record.end_ns / 10 - 1;
                assert_eq!(view.quantiles[0], Some(100 + last_window));
                assert_eq!(view.nodes[0].p99_ns, Some(100 + last_window));
                assert_eq!(view.nodes[0].instances, last_window as u32);
                let holds_five = view.record.start_ns <= 50 && 50 < view.record.end_ns;
                assert_eq!(view.slo_held[0], Some(!holds_five));
                assert_eq!(
                    view.errors_by_outcome().collect::<Vec<_>>(),
                    vec![(Outcome::Timeout, u64::from(view.record.windows))]
                );
            }
            // Full records all span the same number of windows; only the last may span fewer.
            let span = store.span();
            assert!(records[..records.len() - 1].iter().all(|r| r.record.windows == span));
            assert!(records.last().unwrap().record.windows <= span);
        }
    }

    #[test]
    fn a_window_with_no_latency_leaves_the_quantile_to_the_others() {
        let mut store = SeriesStore::new(2, 1, 1, 1);
        for index in 0..3 {
            let mut window = window(index, 0, 0, true);
            window.quantiles = if index == 1 { vec![Some(7)] } else { vec![None] };
            window.slo_held = if index == 1 { vec![Some(false)] } else { vec![None] };
            store.push(window.view());
        }
        // 3 windows in a store of 2: [0, 1] merged, then [2].
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(0).quantiles, &[Some(7)]);
        assert_eq!(store.get(0).slo_held, &[Some(false)]);
        assert_eq!(store.get(1).quantiles, &[None]);
        assert_eq!(store.get(1).slo_held, &[None]);
    }
}
