# Helpers that benches/instructions.sh and benches/flat_cost.sh source: the path of a bench
# binary, and a total from a cachegrind output file.

# bench_binary NAME: the `NAME` bench's executable, built if needed, from cargo's own report
# of what it built.
bench_binary() {
    cargo bench -q -p archsim-benches --bench "$1" --no-run --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1"
}

# cachegrind_total FILE EVENT...: the whole run's count of each EVENT (Ir, Bcm, ...) in
# cachegrind's output FILE, on one line.
cachegrind_total() {
    python3 - "$@" <<'PY'
import sys
events = totals = None
for line in open(sys.argv[1]):
    if line.startswith("events:"):
        events = line.split()[1:]
    elif line.startswith("summary:") or line.startswith("totals:"):
        totals = [int(v) for v in line.split()[1:]]
values = dict(zip(events, totals))
print(" ".join(str(values[event]) for event in sys.argv[2:]))
PY
}
