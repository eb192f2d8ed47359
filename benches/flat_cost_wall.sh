#!/usr/bin/env bash
# Flat cost as models grow, in wall time as a user meets it: `archsim run` as a whole process
# on each large model of the `engine` bench and on its small twin (least connections over
# 1000 instances against 4, a timeout on every request against none, 10^6 closed users
# against 10^3; M/M/1 observed in 1 s windows against plain), 10^6 requests each, the pairs'
# runs interleaved, ROUNDS rounds (default 9), the median of each. Prints the large model's
# cost per event over the small one's (per request for the observed M/M/1, whose window ends
# are events of their own), with the targets (1.3x, 1.5x) and the load average. The
# `engine` bench times the same runs inside one process, repeated.
#
#   bash benches/flat_cost_wall.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-9}
cargo build -q --release -p sim-cli
archsim=target/release/archsim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
model() { # bench name -> file
    case $1 in
        lc-1000) echo benches/models/least-connections-1000.ron ;;
        lc-4) echo benches/models/least-connections-4.ron ;;
        timeouts) echo benches/models/timeouts-100k.ron ;;
        no-timeouts) echo benches/models/no-timeouts-100k.ron ;;
        *) echo "benches/models/$1.ron" ;;
    esac
}
pairs=("lc-1000 lc-4" "timeouts no-timeouts" "closed-1m closed-1k" "mm1-observed mm1")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$rounds"); do
    for pair in "${pairs[@]}"; do
        for name in $pair; do
            start=$(date +%s%N)
            "$archsim" run "$(model "$name")" --requests 1000000 --warmup 0s --format json >"$out/$name.json"
            echo $(($(date +%s%N) - start)) >>"$out/$name.ns"
        done
    done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %-12s %12s %12s   %s\n' large small "median (s)" "(small)" "large / small (target)"
for pair in "${pairs[@]}"; do
    read -r large small <<<"$pair"
    python3 - "$out" "$large" "$small" <<'EOF'
import json, statistics, sys
out, large, small = sys.argv[1:]
def measured(name):
    times = [int(line) / 1e9 for line in open(f"{out}/{name}.ns")]
    report = json.load(open(f"{out}/{name}.json"))
    return statistics.median(times), report["events"], report["requests"]["generated"]
(large_s, large_events, large_requests), (small_s, small_events, small_requests) = measured(large), measured(small)
if large == "mm1-observed":
    ratio, judged = (large_s / large_requests) / (small_s / small_requests), "per request, target 1.5"
else:
    ratio, judged = (large_s / large_events) / (small_s / small_events), "per event, target 1.3"
print(f"{large:<12} {small:<12} {large_s:>12.4f} {small_s:>12.4f}   {ratio:.2f} ({judged})")
EOF
done
