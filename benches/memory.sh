#!/usr/bin/env bash
# Peak memory (maximum resident set) of `archsim run` on M/M/1 at 10^6, 10^7 and 10^8
# requests, observed in 1 s windows (a window per 0.9 requests) at 10^6 and 10^7, and with
# 10^6 closed users (as many pending wake-ups) at 10^6, 10^7 and 5·10^7: it must stay flat
# as the request count, and the window count, grow. Needs GNU time (/usr/bin/time).
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
printf '%12s %10s %12s   (observed in 1 s windows)\n' requests seconds peak_KB
for requests in 1000000 10000000; do
    /usr/bin/time -f "%e %M" -o /tmp/archsim-memory.$$ \
        ./target/release/archsim run benches/models/mm1-observed.ron --requests "$requests" --format json >/dev/null
    read -r seconds peak < /tmp/archsim-memory.$$
    printf '%12s %10s %12s\n' "$requests" "$seconds" "$peak"
done
printf '%12s %10s %12s   (10^6 closed users)\n' requests seconds peak_KB
for requests in 1000000 10000000 50000000; do
    /usr/bin/time -f "%e %M" -o /tmp/archsim-memory.$$ \
        ./target/release/archsim run benches/models/closed-1m.ron --requests "$requests" --format json >/dev/null
    read -r seconds peak < /tmp/archsim-memory.$$
    printf '%12s %10s %12s\n' "$requests" "$seconds" "$peak"
done
rm -f /tmp/archsim-memory.$$
