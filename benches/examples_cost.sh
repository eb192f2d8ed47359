#!/usr/bin/env bash
# Instructions and mispredicted branches of `archsim run` on every example topology, one
# build against another, and whether each report is byte for byte the same: how an engine
# change fares on the models people write (links, timeouts, caches, faults), not only on the
# engine bench's. Counted by valgrind's cachegrind, which this noisy machine's wall time
# cannot match for small differences. A mispredicted branch costs some 15-20 cycles, the
# time of 60 or more instructions, so a change that trades instructions for mispredictions
# shows in both columns; but the branches are counted on cachegrind's simple model
# predictor, whose tables are indexed by address, and its counts move by up to 15% with the
# code's layout alone (mm1 +10% from a change to code it never runs): read a mispredicted
# branch column only for large moves in the code the change touched, and time the rest.
# Needs valgrind. About six minutes.
#
#   bash benches/examples_cost.sh BASE_ARCHSIM NEW_ARCHSIM [topologies/x.ron ...]
#
# (A base build: `git worktree add /tmp/base COMMIT && cargo build --release -p sim-cli
# --manifest-path /tmp/base/Cargo.toml`, then /tmp/base/target/release/archsim.)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install --no-install-recommends valgrind" >&2; exit 2; }
[ $# -ge 2 ] || { echo "usage: bash benches/examples_cost.sh BASE_ARCHSIM NEW_ARCHSIM [TOPOLOGY...]" >&2; exit 2; }
base=$1 new=$2
shift 2
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(topologies/*.ron)
source benches/cachegrind.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-28s %14s %14s %8s %12s %12s %8s  %s\n' example base new change "mispredicted" "(new)" change report
totals="$out/totals"
for file in "${files[@]}"; do
    for side in base new; do
        binary=$base
        [ $side = new ] && binary=$new
        valgrind --tool=cachegrind --cache-sim=no --branch-sim=yes --cachegrind-out-file="$out/$side.cg" \
            "$binary" run "$file" >"$out/$side.txt" 2>"$out/$side.log" || true
    done
    read -r before before_conditional before_indirect <<<"$(cachegrind_total "$out/base.cg" Ir Bcm Bim)"
    read -r after after_conditional after_indirect <<<"$(cachegrind_total "$out/new.cg" Ir Bcm Bim)"
    missed_before=$((before_conditional + before_indirect)) missed_after=$((after_conditional + after_indirect))
    same=$(cmp -s "$out/base.txt" "$out/new.txt" && echo same || echo DIFFERENT)
    echo "$before $after $missed_before $missed_after" >>"$totals"
    printf '%-28s %14s %14s %+7.2f%% %12s %12s %+7.2f%%  %s\n' "$(basename "$file")" "$before" "$after" \
        "$(python3 -c "print(($after / $before - 1) * 100)")" "$missed_before" "$missed_after" \
        "$(python3 -c "print(($missed_after / max($missed_before, 1) - 1) * 100)")" "$same"
done
python3 - "$totals" <<'EOF'
import sys
rows = [tuple(map(int, line.split())) for line in open(sys.argv[1])]
for name, column in (("instructions", 0), ("mispredicted branches", 2)):
    pairs = [(row[column], row[column + 1]) for row in rows]
    ratios = sorted(after / max(before, 1) for before, after in pairs)
    worse = sum(ratio > 1.001 for ratio in ratios)
    better = sum(ratio < 0.999 for ratio in ratios)
    print(f"{name}, {len(pairs)} examples: {better} fewer, {worse} more by more than 0.1%; "
          f"median change {(ratios[len(ratios) // 2] - 1) * 100:+.2f}%, "
          f"all together {(sum(a for _, a in pairs) / max(sum(b for b, _ in pairs), 1) - 1) * 100:+.2f}%")
EOF
