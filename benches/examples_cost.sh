#!/usr/bin/env bash
# Instructions of `archsim run` on every example topology, one build against another, and
# whether each report is byte for byte the same: how an engine change fares on the models
# people write (links, timeouts, caches, faults), not only on the engine bench's. Counted by
# valgrind's cachegrind, which this noisy machine's wall time cannot match for small
# differences. Needs valgrind. About five minutes.
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
printf '%-28s %14s %14s %8s  %s\n' example base new change report
totals="$out/totals"
for file in "${files[@]}"; do
    for side in base new; do
        binary=$base
        [ $side = new ] && binary=$new
        valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file="$out/$side.cg" \
            "$binary" run "$file" >"$out/$side.txt" 2>"$out/$side.log" || true
    done
    before=$(cachegrind_total "$out/base.cg" Ir)
    after=$(cachegrind_total "$out/new.cg" Ir)
    same=$(cmp -s "$out/base.txt" "$out/new.txt" && echo same || echo DIFFERENT)
    echo "$before $after" >>"$totals"
    printf '%-28s %14s %14s %+7.2f%%  %s\n' "$(basename "$file")" "$before" "$after" \
        "$(python3 -c "print(($after / $before - 1) * 100)")" "$same"
done
python3 - "$totals" <<'EOF'
import sys
pairs = [tuple(map(int, line.split())) for line in open(sys.argv[1])]
ratios = sorted(after / before for before, after in pairs)
worse = sum(ratio > 1.001 for ratio in ratios)
better = sum(ratio < 0.999 for ratio in ratios)
print(f"{len(pairs)} examples: {better} cheaper, {worse} dearer by more than 0.1%; "
      f"median change {(ratios[len(ratios) // 2] - 1) * 100:+.2f}%, "
      f"all together {(sum(a for _, a in pairs) / sum(b for b, _ in pairs) - 1) * 100:+.2f}%")
EOF
