#!/usr/bin/env bash
# Instructions per customer of archsim, the hand-written loop (plain, and making the figures
# archsim's report gives) and SimCore (the model as one component, as a component per node,
# and per node making the report's figures) on the peers' models (M/M/1, M/M/4, web:
# `benches/peers.rs`), counted by valgrind's cachegrind, with the ratios, and the branches
# each mispredicts on cachegrind's model predictor. Wall time on a shared 2-core machine
# varies by up to 1.7x between runs; instruction counts do not, so a change's effect on the
# per-customer path is read here first and timed after.
# Needs valgrind (`apt-get install --no-install-recommends valgrind`). About four minutes.
#
#   bash benches/instructions.sh [mm1 mm4 web]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install --no-install-recommends valgrind" >&2; exit 2; }
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(mm1 mm4 web)
source benches/cachegrind.sh
peers=$(bench_binary peers)
customers=1000000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { # implementation model -> "instructions mispredicts" for the whole process
    (cd benches && valgrind --tool=cachegrind --cache-sim=no --branch-sim=yes \
        --cachegrind-out-file="$out/$1.$2" "$peers" --bench --runs 1 --only "$1" "$2" >/dev/null 2>"$out/log")
    read -r instructions conditional indirect <<<"$(cachegrind_total "$out/$1.$2" Ir Bcm Bim)"
    echo "$instructions" $((conditional + indirect))
}
printf '%-5s %10s %10s %12s %14s %14s %14s %8s %9s %8s %8s %9s   %s\n' model archsim loop "loop+report" "SimCore (one)" "(per node)" \
    "(+report)" "÷ loop" "÷ report" "÷ one" "÷ nodes" "÷ +report" \
    "mispredicted branches per customer (archsim, loop, loop+report, SimCore one, per node, per node+report)"
for model in "${models[@]}"; do
    read -r ours ours_miss <<<"$(count archsim "$model")"
    read -r looped looped_miss <<<"$(count loop "$model")"
    read -r reported reported_miss <<<"$(count loop-report "$model")"
    read -r theirs theirs_miss <<<"$(count simcore "$model")"
    read -r nodes nodes_miss <<<"$(count simcore-nodes "$model")"
    read -r nodes_reported nodes_reported_miss <<<"$(count simcore-nodes-report "$model")"
    python3 - "$model" "$customers" "$ours" "$looped" "$reported" "$theirs" "$nodes" "$nodes_reported" \
        "$ours_miss" "$looped_miss" "$reported_miss" "$theirs_miss" "$nodes_miss" "$nodes_reported_miss" <<'EOF'
import sys
model, customers, *numbers = sys.argv[1:]
customers = int(customers)
ours, looped, reported, theirs, nodes, nodes_reported, *misses = (int(v) / customers for v in numbers)
print(f"{model:<5} {ours:>10.0f} {looped:>10.0f} {reported:>12.0f} {theirs:>14.0f} {nodes:>14.0f} {nodes_reported:>14.0f} "
      f"{ours / looped:>8.2f} {ours / reported:>9.2f} {ours / theirs:>8.2f} {ours / nodes:>8.2f} {ours / nodes_reported:>9.2f}   "
      + ", ".join(f"{m:.1f}" for m in misses))
EOF
done
echo "(instructions per customer, whole process: parsing, set-up and the report included)"
