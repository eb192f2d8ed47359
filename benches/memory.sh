#!/usr/bin/env bash
# Peak memory (maximum resident set) of `archsim run` on M/M/1 at 10^6, 10^7 and 10^8
# requests: it must stay flat as the request count grows. Needs GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p sim-cli
printf '%12s %10s %12s\n' requests seconds peak_KB
for requests in 1000000 10000000 100000000; do
    /usr/bin/time -f "%e %M" -o /tmp/archsim-memory.$$ \
        ./target/release/archsim run benches/models/mm1.ron --requests "$requests" --format json >/dev/null
    read -r seconds peak < /tmp/archsim-memory.$$
    printf '%12s %10s %12s\n' "$requests" "$seconds" "$peak"
done
rm -f /tmp/archsim-memory.$$
