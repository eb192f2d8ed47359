//! An open-loop HTTP load generator for the real-stack check. Requests are sent at Poisson
//! times drawn up front (reads and writes of Zipf keys), each by whichever connection is
//! free; a request's latency runs from its *intended* send time, so a slow system cannot
//! slow the generator's clock down (no coordinated omission). Latencies go into an
//! hdrhistogram; the summary is written as JSON. With `--trace FILE`, each request carries a
//! W3C `traceparent` header and its client span is written to FILE as OTLP JSON (service
//! `loadgen`), so calibration sees the time spent outside the traced service.
//!
//! ```text
//! loadgen --target 127.0.0.1:8080 --rate 50 --warmup 5 --duration 30 --out result.json
//! ```

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sim_core::keys::ZipfSampler;
use sim_core::rng::{Purpose, RandomStream};

/// What to send, and how long to wait.
struct Options {
    target: String,
    rate_per_s: f64,
    warmup_s: f64,
    duration_s: f64,
    read_share: f64,
    keys: u64,
    zipf: f64,
    seed: u64,
    connections: usize,
    drain_s: f64,
    out: Option<String>,
    trace: Option<String>,
}

/// One planned request.
#[derive(Clone, Copy)]
struct Planned {
    intended_ns: u64,
    read: bool,
    key: u64,
    trace_id: u128,
    span_id: u64,
}

/// What became of one request.
#[derive(Clone, Copy)]
struct Outcome {
    index: usize,
    ok: bool,
    /// From the intended send time to the end of the answer.
    latency_ns: u64,
    /// When the answer ended, from the start.
    done_ns: u64,
    /// How late the request was sent.
    late_ns: u64,
    /// The client span's start and end, ns since the Unix epoch.
    span_unix_ns: (u64, u64),
}

const USAGE: &str = "usage: loadgen --target HOST:PORT --rate PER_S --duration S [--warmup S] [--reads SHARE] \
[--keys N] [--zipf S] [--seed N] [--connections N] [--drain S] [--out FILE] [--trace FILE]";

fn main() {
    let options = match parse(std::env::args().skip(1).collect()) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("loadgen: {message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let plan = plan(&options);
    let outcomes = drive(&options, &plan);
    let summary = summarize(&options, &plan, &outcomes);
    let text = serde_json::to_string_pretty(&summary).expect("a JSON value") + "\n";
    if let Some(path) = &options.trace {
        write_atomically(path, &spans(&plan, &outcomes));
    }
    match &options.out {
        Some(path) => write_atomically(path, &text),
        None => print!("{text}"),
    }
}

fn write_atomically(path: &str, text: &str) {
    let temporary = format!("{path}.part");
    if let Err(error) = std::fs::write(&temporary, text).and_then(|_| std::fs::rename(&temporary, path)) {
        eprintln!("loadgen: cannot write {path}: {error}");
        std::process::exit(1);
    }
}

/// The client spans as OTLP JSON lines, a thousand spans per line.
fn spans(plan: &[Planned], outcomes: &[Outcome]) -> String {
    let mut text = String::new();
    for chunk in outcomes.chunks(1000) {
        let spans: Vec<serde_json::Value> = chunk
            .iter()
            .map(|outcome| {
                let request = &plan[outcome.index];
                let method = if request.read { "GET" } else { "POST" };
                serde_json::json!({
                    "traceId": format!("{:032x}", request.trace_id),
                    "spanId": format!("{:016x}", request.span_id),
                    "parentSpanId": "",
                    "name": format!("{method} /item/{{key}}"),
                    "kind": 3,
                    "startTimeUnixNano": outcome.span_unix_ns.0.to_string(),
                    "endTimeUnixNano": outcome.span_unix_ns.1.to_string(),
                    "attributes": [
                        {"key": "http.request.method", "value": {"stringValue": method}},
                        {"key": "peer.service", "value": {"stringValue": "app"}},
                    ],
                    "status": {"code": if outcome.ok { 0 } else { 2 }},
                })
            })
            .collect();
        let request = serde_json::json!({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "loadgen"}}]},
            "scopeSpans": [{"scope": {"name": "archsim-loadgen"}, "spans": spans}],
        }]});
        text.push_str(&request.to_string());
        text.push('\n');
    }
    text
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        target: String::new(),
        rate_per_s: 0.0,
        warmup_s: 0.0,
        duration_s: 0.0,
        read_share: 0.8,
        keys: 10000,
        zipf: 0.6,
        seed: 1,
        connections: 1024,
        drain_s: 60.0,
        out: None,
        trace: None,
    };
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<f64>().map_err(|_| format!("{flag} {value}: not a number"));
        match flag.as_str() {
            "--target" => options.target = value.clone(),
            "--rate" => options.rate_per_s = number()?,
            "--warmup" => options.warmup_s = number()?,
            "--duration" => options.duration_s = number()?,
            "--reads" => options.read_share = number()?,
            "--keys" => options.keys = number()? as u64,
            "--zipf" => options.zipf = number()?,
            "--seed" => options.seed = number()? as u64,
            "--connections" => options.connections = number()? as usize,
            "--drain" => options.drain_s = number()?,
            "--out" => options.out = Some(value.clone()),
            "--trace" => options.trace = Some(value.clone()),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.target.is_empty() || options.rate_per_s <= 0.0 || options.duration_s <= 0.0 {
        return Err("--target, a positive --rate and a positive --duration are needed".into());
    }
    if !(0.0..=1.0).contains(&options.read_share) || options.keys == 0 || options.connections == 0 {
        return Err("--reads is a share in [0, 1]; --keys and --connections are at least 1".into());
    }
    Ok(options)
}

/// The requests, at Poisson times over the warm-up and the measured duration.
fn plan(options: &Options) -> Vec<Planned> {
    let mut arrivals = RandomStream::derive(options.seed, "loadgen", Purpose::Arrivals);
    let mut classes = RandomStream::derive(options.seed, "loadgen", Purpose::Classes);
    let mut keys = RandomStream::derive(options.seed, "loadgen", Purpose::Keys);
    let mut ids = RandomStream::derive(options.seed, "loadgen", Purpose::Routing);
    let zipf = ZipfSampler::new(options.keys, options.zipf);
    let end_ns = ((options.warmup_s + options.duration_s) * 1e9) as u64;
    let mean_gap_ns = 1e9 / options.rate_per_s;
    let mut plan = Vec::new();
    let mut at_ns = 0.0;
    loop {
        at_ns += -arrivals.open01().ln() * mean_gap_ns;
        if at_ns >= end_ns as f64 {
            return plan;
        }
        plan.push(Planned {
            intended_ns: at_ns as u64,
            read: classes.open01() < options.read_share,
            key: zipf.sample(&mut keys) - 1,
            trace_id: ((ids.next_u64() as u128) << 64 | ids.next_u64() as u128).max(1),
            span_id: ids.next_u64().max(1),
        });
    }
}

/// Sends every planned request from `connections` threads, each taking the next request
/// when it is free and sending it at its intended time.
fn drive(options: &Options, plan: &[Planned]) -> Vec<Outcome> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now() + Duration::from_millis(200);
    let threads = options.connections.min(plan.len().max(1));
    let timeout = Duration::from_secs_f64(options.drain_s.max(1.0));
    let plan: Arc<[Planned]> = plan.into();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let next = Arc::clone(&next);
            let plan = Arc::clone(&plan);
            let target = options.target.clone();
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || connection(&target, &plan, &next, start, timeout))
                .expect("a thread")
        })
        .collect();
    let mut outcomes: Vec<Outcome> = handles.into_iter().flat_map(|h| h.join().expect("a connection thread")).collect();
    outcomes.sort_by_key(|o| o.index);
    outcomes
}

fn connection(target: &str, plan: &[Planned], next: &AtomicUsize, start: Instant, timeout: Duration) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let mut stream: Option<BufReader<TcpStream>> = None;
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(request) = plan.get(index) else { return outcomes };
        let intended = start + Duration::from_nanos(request.intended_ns);
        wait_until(intended);
        let sent = Instant::now();
        let sent_unix_ns = unix_ns();
        let ok = match exchange(target, &mut stream, request, timeout) {
            Ok(status) => status == 200,
            Err(_) => {
                stream = None;
                false
            }
        };
        let done = Instant::now();
        outcomes.push(Outcome {
            index,
            ok,
            latency_ns: (done - intended).as_nanos() as u64,
            done_ns: (done - start).as_nanos() as u64,
            late_ns: sent.saturating_duration_since(intended).as_nanos() as u64,
            span_unix_ns: (sent_unix_ns, unix_ns()),
        });
    }
}

/// Sleeps until shortly before `moment`, then yields until it: a sleeping thread wakes up
/// 50–200 µs late, which would count as latency of every request.
fn wait_until(moment: Instant) {
    const SPIN: Duration = Duration::from_micros(500);
    let now = Instant::now();
    if moment > now + SPIN {
        std::thread::sleep(moment - now - SPIN);
    }
    while Instant::now() < moment {
        std::thread::yield_now();
    }
}

/// One request on the connection (opened when there is none); the answer's status.
fn exchange(
    target: &str,
    stream: &mut Option<BufReader<TcpStream>>,
    request: &Planned,
    timeout: Duration,
) -> std::io::Result<u16> {
    if stream.is_none() {
        let tcp = TcpStream::connect(target)?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(timeout))?;
        *stream = Some(BufReader::new(tcp));
    }
    let reader = stream.as_mut().expect("just opened");
    let (method, length) = if request.read { ("GET", "") } else { ("POST", "Content-Length: 0\r\n") };
    let text = format!(
        "{method} /item/{} HTTP/1.1\r\nHost: stack\r\ntraceparent: 00-{:032x}-{:016x}-01\r\n{length}\r\n",
        request.key, request.trace_id, request.span_id
    );
    reader.get_mut().write_all(text.as_bytes())?;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| bad(&line))?;
    let (mut body_bytes, mut close) = (0usize, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(bad("the connection closed inside the headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            body_bytes = value.trim().parse().map_err(|_| bad(header))?;
        } else if lower.starts_with("connection:") && lower.contains("close") {
            close = true;
        }
    }
    let mut body = vec![0; body_bytes];
    std::io::Read::read_exact(reader, &mut body)?;
    if close {
        *stream = None;
    }
    Ok(status)
}

fn unix_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

fn bad(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("not an HTTP answer: {what:?}"))
}

fn summarize(options: &Options, plan: &[Planned], outcomes: &[Outcome]) -> serde_json::Value {
    let from_ns = (options.warmup_s * 1e9) as u64;
    let to_ns = ((options.warmup_s + options.duration_s) * 1e9) as u64;
    let mut latency =
        Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("bounds and 3 significant digits");
    let (mut sent, mut ok, mut errors, mut late, mut completed_in_window) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut sum_ns = 0u128;
    // Batch means: the window cut into BATCHES by intended send time; the spread of the
    // batches' figures gives each figure's 95% interval (Student's t, 9 degrees of freedom).
    let new_histogram = || Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("bounds");
    let mut batches: Vec<(Histogram<u64>, u128)> = (0..BATCHES).map(|_| (new_histogram(), 0)).collect();
    for outcome in outcomes {
        if outcome.ok && (from_ns..to_ns).contains(&outcome.done_ns) {
            completed_in_window += 1;
        }
        let request = &plan[outcome.index];
        if !(from_ns..to_ns).contains(&request.intended_ns) {
            continue;
        }
        sent += 1;
        if outcome.late_ns > 1_000_000 {
            late += 1;
        }
        if outcome.ok {
            ok += 1;
            sum_ns += outcome.latency_ns as u128;
            latency.saturating_record(outcome.latency_ns.max(1));
            let batch =
                ((request.intended_ns - from_ns) as u128 * BATCHES as u128 / (to_ns - from_ns) as u128) as usize;
            batches[batch].0.saturating_record(outcome.latency_ns.max(1));
            batches[batch].1 += outcome.latency_ns as u128;
        } else {
            errors += 1;
        }
    }
    let seconds = |ns: u64| ns as f64 / 1e9;
    serde_json::json!({
        "rate_per_s": options.rate_per_s,
        "warmup_s": options.warmup_s,
        "duration_s": options.duration_s,
        "sent": sent,
        "completed": ok,
        "errors": errors,
        "sent_late_over_1ms": late,
        "throughput_per_s": completed_in_window as f64 / options.duration_s,
        "latency": {
            "mean_s": if ok > 0 { sum_ns as f64 / ok as f64 / 1e9 } else { f64::NAN },
            "p50_s": seconds(latency.value_at_quantile(0.5)),
            "p90_s": seconds(latency.value_at_quantile(0.9)),
            "p99_s": seconds(latency.value_at_quantile(0.99)),
            "max_s": seconds(latency.max()),
        },
        "half_width_95": {
            "mean_s": half_width(&batches, |h, sum| if h.is_empty() { f64::NAN } else { sum as f64 / h.len() as f64 / 1e9 }),
            "p50_s": half_width(&batches, |h, _| seconds(h.value_at_quantile(0.5))),
            "p90_s": half_width(&batches, |h, _| seconds(h.value_at_quantile(0.9))),
            "p99_s": half_width(&batches, |h, _| seconds(h.value_at_quantile(0.99))),
        },
    })
}

/// Batches of the measured window for the intervals.
const BATCHES: usize = 10;

/// The 95% half-width of a figure over the batches: t(0.975, 9) × sd / √10.
fn half_width(batches: &[(Histogram<u64>, u128)], figure: impl Fn(&Histogram<u64>, u128) -> f64) -> f64 {
    let values: Vec<f64> = batches.iter().map(|(h, sum)| figure(h, *sum)).filter(|v| v.is_finite()).collect();
    if values.len() < 2 {
        return f64::NAN;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    2.262 * (variance / n).sqrt()
}
