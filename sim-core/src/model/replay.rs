//! Replaying a trace workload: one record read ahead of the clock, its arrival scheduled at
//! its trace time mapped onto simulated time (speed and load steps), the file started over
//! when the workload loops. Also the recorder of arrivals (`--record-arrivals`).

use super::kernel::Kernel;
use super::Event;
use crate::topology::{Arrivals, NONE};
use crate::trace::{TraceError, TraceReader, TraceRecord, TraceSpec};

/// Where a run's arrivals go as they are created (the CLI's `--record-arrivals` file).
pub trait ArrivalSink: Send + Sync {
    /// One request, created at `arrival.time_ns`.
    fn arrival(&mut self, arrival: &Arrival<'_>);
    /// The run is over: flush, and say whether everything was kept.
    fn finish(self: Box<Self>) -> Result<(), String>;
}

/// A request as a workload created it: what a trace line holds.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// Simulated time of creation, ns.
    pub time_ns: u64,
    /// The workload's name.
    pub workload: &'a str,
    /// The request's class.
    pub class: &'a str,
    /// Its key.
    pub key: u64,
    /// Its client id within the workload (a closed workload's user).
    pub client: u32,
    /// The clients' region, when the topology has regions.
    pub region: Option<&'a str>,
    /// The request's and its answer's sizes in bytes, when the topology gives sizes.
    pub sizes: Option<(u64, u64)>,
}

/// A trace workload's place in its file.
pub(crate) struct TraceCursor {
    reader: Option<TraceReader>,
    /// The record whose arrival is scheduled.
    pending: Option<TraceRecord>,
    /// Trace time added to this pass's records (loops), ns.
    pass_start_ns: u64,
    /// Trace time of the last record read, ns.
    last_ns: u64,
    /// Simulated and trace time at the last change of pace.
    anchor_sim_ns: u64,
    anchor_trace_ns: u64,
    /// Trace seconds per simulated second: the speed times the load factor.
    pace: f64,
}

impl std::fmt::Debug for TraceCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceCursor")
            .field("pending", &self.pending)
            .field("pass_start_ns", &self.pass_start_ns)
            .field("pace", &self.pace)
            .finish_non_exhaustive()
    }
}

impl TraceCursor {
    pub fn new() -> Self {
        Self {
            reader: None,
            pending: None,
            pass_start_ns: 0,
            last_ns: 0,
            anchor_sim_ns: 0,
            anchor_trace_ns: 0,
            pace: 1.0,
        }
    }

    /// The simulated time at which trace time `trace_ns` plays (exact at pace 1).
    fn sim_ns(&self, trace_ns: u64) -> u64 {
        let ahead_ns = trace_ns.saturating_sub(self.anchor_trace_ns);
        if self.pace == 1.0 {
            self.anchor_sim_ns.saturating_add(ahead_ns)
        } else {
            self.anchor_sim_ns.saturating_add((ahead_ns as f64 / self.pace).round() as u64)
        }
    }

    /// The trace time playing at simulated time `now_ns`.
    fn trace_ns(&self, now_ns: u64) -> u64 {
        let since_ns = now_ns.saturating_sub(self.anchor_sim_ns);
        if self.pace == 1.0 {
            self.anchor_trace_ns.saturating_add(since_ns)
        } else {
            self.anchor_trace_ns.saturating_add((since_ns as f64 * self.pace).round() as u64)
        }
    }
}

impl Kernel<'_> {
    fn trace_spec(&self, source: u32) -> &TraceSpec {
        match &self.topology.sources[source as usize].arrivals {
            Arrivals::Trace(spec) => spec,
            _ => unreachable!("only trace workloads replay"),
        }
    }

    pub(crate) fn start_trace(&mut self, source: u32) {
        let spec = self.trace_spec(source);
        let Some(feed) = spec.feed.as_deref() else {
            // Not attached: the front end says so before a run (`Topology::unattached_trace`).
            self.stop_trace(source);
            return;
        };
        let speed = spec.speed;
        let opened = TraceReader::open(spec, feed);
        let cursor = self.sources[source as usize].trace.get_or_insert_with(|| Box::new(TraceCursor::new()));
        cursor.pace = speed * self.load_factor;
        match opened {
            Ok(reader) => cursor.reader = Some(reader),
            Err(error) => return self.fail_trace(source, error),
        }
        self.read_and_schedule(source);
    }

    pub(crate) fn on_trace_arrival(&mut self, source: u32) {
        let Some(record) = self.sources[source as usize].trace.as_mut().and_then(|cursor| cursor.pending.take()) else {
            return;
        };
        self.create_traced_request(source, record);
        self.read_and_schedule(source);
    }

    /// Reads the next record (starting the file over when the workload loops) and schedules
    /// its arrival.
    fn read_and_schedule(&mut self, source: u32) {
        if !self.generating {
            return;
        }
        let topology = self.topology;
        let Arrivals::Trace(spec) = &topology.sources[source as usize].arrivals else { return };
        let cursor = self.sources[source as usize].trace.as_mut().expect("a started trace has a cursor");
        let mut next = match cursor.reader.as_mut().map(TraceReader::next_record) {
            Some(Ok(next)) => next,
            Some(Err(error)) => return self.fail_trace(source, error),
            None => None,
        };
        if next.is_none() && spec.looping {
            cursor.pass_start_ns = cursor.last_ns.saturating_add(spec.loop_gap_ns());
            let reopened = spec.feed.as_deref().map(|feed| TraceReader::open(spec, feed));
            next = match reopened {
                Some(Ok(mut reader)) => {
                    let first = reader.next_record();
                    cursor.reader = Some(reader);
                    match first {
                        Ok(first) => first,
                        Err(error) => return self.fail_trace(source, error),
                    }
                }
                Some(Err(error)) => return self.fail_trace(source, error),
                None => None,
            };
        }
        let Some(mut record) = next else { return self.stop_trace(source) };
        record.time_ns = cursor.pass_start_ns.saturating_add(record.time_ns);
        cursor.last_ns = record.time_ns;
        cursor.pending = Some(record);
        self.schedule_trace_arrival(source);
    }

    /// Schedules the pending record's arrival at the current pace.
    fn schedule_trace_arrival(&mut self, source: u32) {
        let state = &mut self.sources[source as usize];
        let Some(cursor) = state.trace.as_ref() else { return };
        let Some(record) = cursor.pending else { return };
        if cursor.pace <= 0.0 {
            state.stopped = true;
            state.stopped_ns = self.events.now_ns();
            return;
        }
        state.stopped = false;
        let at_ns = cursor.sim_ns(record.time_ns).max(self.events.now_ns());
        let generation = state.generation;
        self.events.schedule_at(at_ns, Event::SourceArrival { source, generation });
    }

    /// The load factor changed: the trace plays on from where it is, at the new pace.
    pub(crate) fn repace_trace(&mut self, source: u32) {
        let now = self.events.now_ns();
        let speed = self.trace_spec(source).speed;
        let load_factor = self.load_factor;
        let state = &mut self.sources[source as usize];
        let Some(cursor) = state.trace.as_mut() else { return };
        let position_ns = cursor.trace_ns(now);
        cursor.anchor_sim_ns = now;
        cursor.anchor_trace_ns = position_ns;
        cursor.pace = speed * load_factor;
        state.generation = state.generation.wrapping_add(1);
        self.schedule_trace_arrival(source);
    }

    fn stop_trace(&mut self, source: u32) {
        let now = self.events.now_ns();
        let state = &mut self.sources[source as usize];
        state.stopped = true;
        state.stopped_ns = now;
    }

    /// A line that the check when the trace was attached passed cannot be read now (the
    /// file changed under the run): the workload stops, and the report says why.
    fn fail_trace(&mut self, source: u32, error: TraceError) {
        if self.trace_failure.is_none() {
            self.trace_failure = Some((source, error));
        }
        self.stop_trace(source);
    }

    /// Creates the request a trace line describes; what the line leaves out is drawn as an
    /// open workload would draw it.
    fn create_traced_request(&mut self, source: u32, record: TraceRecord) {
        let spec = &self.topology.sources[source as usize];
        let state = &mut self.sources[source as usize];
        let key = match record.key {
            Some(key) => key,
            None if self.draws_keys => spec.keys.sample(&mut state.keys),
            None => 0,
        };
        let within = match record.client {
            Some(client) => u64::from(client),
            None => state.draw_client(spec.clients, self.draws_clients),
        };
        let (region, latency_sampler) = match (record.region, &spec.arrivals) {
            (NONE, _) => (spec.region, spec.latency_sampler),
            (region, Arrivals::Trace(trace)) if !trace.region_latency_samplers.is_empty() => {
                (region, trace.region_latency_samplers[region as usize])
            }
            (region, _) => (region, spec.latency_sampler),
        };
        let mut sizes = self.draw_sizes(source, record.class);
        if self.topology.network.enabled {
            sizes.request_bytes = record.size.unwrap_or(sizes.request_bytes);
            sizes.response_bytes = record.response_size.unwrap_or(sizes.response_bytes);
        }
        self.admit_request(source, NONE, record.class, key, within, region, latency_sampler, sizes);
    }

    /// The latency sampler between a request's clients and its workload's entry node: the
    /// workload's, or for a trace line that names a region, that region's.
    pub(crate) fn client_latency_sampler(&self, request: crate::ids::RequestId) -> u32 {
        let (source, region) = (self.requests[request].source, self.requests[request].region);
        if source == NONE {
            return NONE;
        }
        let spec = &self.topology.sources[source as usize];
        match &spec.arrivals {
            Arrivals::Trace(trace) if region != NONE && !trace.region_latency_samplers.is_empty() => {
                trace.region_latency_samplers[region as usize]
            }
            _ => spec.latency_sampler,
        }
    }

    /// Tells the arrival recorder, if any, of a request just created.
    pub(crate) fn record_arrival(
        &mut self,
        source: u32,
        class: u16,
        key: u64,
        within: u64,
        region: u32,
        sizes: super::requests::MessageSizes,
    ) {
        let Some(sink) = self.arrival_sink.as_mut() else { return };
        let topology = self.topology;
        sink.arrival(&Arrival {
            time_ns: self.events.now_ns(),
            workload: &topology.sources[source as usize].name,
            class: &topology.classes[class as usize],
            key,
            client: within as u32,
            region: (region != NONE).then(|| topology.regions.names[region as usize].as_str()),
            sizes: topology.network.enabled.then_some((sizes.request_bytes, sizes.response_bytes)),
        });
    }
}
