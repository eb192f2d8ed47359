#!/usr/bin/env bash
# Flat cost as models grow, in instructions: each large model of the `engine` bench against
# its small twin (least connections over 1000 instances against 4, a timeout on every request
# against none, 10^6 closed users against 10^3), counted by valgrind's cachegrind, per
# request and per event, with the large model's ratio to the small one's (the target is 1.3x
# per event); and M/M/1 observed in 1 s windows against the unobserved run, per request (the
# target is 1.5x: its window ends are events of their own, which a per-event ratio hides). Wall time on a shared 2-core machine varies by up to 1.7x between runs and
# cannot resolve these ratios; instruction counts do not vary. (They leave out cache misses,
# which a large model has more of: time it after, interleaved, with the `engine` bench.)
# Needs valgrind (`apt-get install --no-install-recommends valgrind`). About three minutes.
#
#   bash benches/flat_cost.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install --no-install-recommends valgrind" >&2; exit 2; }
source benches/cachegrind.sh
engine=$(bench_binary engine)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { # model -> "instructions events_per_request" for the whole process
    (cd benches && valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out/$1" \
        "$engine" --bench --quick "$1" >"$out/$1.out" 2>"$out/log")
    python3 - "$(cachegrind_total "$out/$1" Ir)" "$out/$1.out" "$1" <<'EOF'
import sys
instructions = int(sys.argv[1])
# The bench's line: model, best (s), median (s), events/s, requests/s; both rates are over
# the same time, so their ratio is the events per request.
row = next(line.split() for line in open(sys.argv[2]) if line.split()[:1] == [sys.argv[3]])
print(instructions, float(row[3]) / float(row[4]))
EOF
}
requests=1000000
printf '%-12s %-12s %14s %14s %14s %14s   %s\n' large small "instr/request" "(small)" "events/request" "(small)" "large / small (target)"
for pair in "lc-1000 lc-4" "timeouts no-timeouts" "closed-1m closed-1k" "mm1-observed mm1"; do
    read -r large small <<<"$pair"
    read -r large_instructions large_events <<<"$(count "$large")"
    read -r small_instructions small_events <<<"$(count "$small")"
    python3 - "$large" "$small" "$requests" "$large_instructions" "$large_events" "$small_instructions" "$small_events" <<'EOF'
import sys
large, small, requests = sys.argv[1], sys.argv[2], int(sys.argv[3])
large_instructions, large_events, small_instructions, small_events = (float(v) for v in sys.argv[4:])
per_request = large_instructions / requests, small_instructions / requests
per_event = per_request[0] / large_events, per_request[1] / small_events
if large == "mm1-observed":
    judged = f"per request {per_request[0] / per_request[1]:.2f} (target 1.5)"
else:
    judged = f"per event {per_event[0] / per_event[1]:.2f} ({per_event[0]:.0f} against {per_event[1]:.0f}; target 1.3)"
print(f"{large:<12} {small:<12} {per_request[0]:>14.0f} {per_request[1]:>14.0f} {large_events:>14.2f} {small_events:>14.2f}   {judged}")
EOF
done
echo "(instructions of the whole process over its 10^6 requests: parsing and set-up included)"
