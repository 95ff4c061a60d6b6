#!/usr/bin/env bash
# P7: the resident memory of an embedded photofeed serving the mixed load
# (90 % feed reads, 9 % likes/unlikes, 1 % profiles; photofeed loadtest's
# default mix, closed loop) on a dataset of 100,000 accounts, 1,000,000
# photos and 2,000,000 follows written by photofeed bulkload. RSS is read
# from /proc every second of the load; the figure is the highest seen,
# and the process's peak (VmHWM) over its whole life beside it.
#
#   bench/memory.sh             DUR=60s C=16 USERS=100000 POSTS=1000000 FOLLOWS=2000000
#   DATA=dir bench/memory.sh    reuse (or keep) the loaded data directory
#   ACCOUNTS=file               the accounts to load as (default: the 2,000 bulkload lists)
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-60s} C=${C:-16}
USERS=${USERS:-100000} POSTS=${POSTS:-1000000} FOLLOWS=${FOLLOWS:-2000000}
source bench/lib.sh

go build -o "$work/photofeed" ./cmd/photofeed
data=${DATA:-$work/data}
if ! [ -e "$data/bulk-accounts.json" ]; then
	/usr/bin/time -f "bulkload: %e s, %M KB peak" "$work/photofeed" bulkload --data-dir "$data" \
		--users "$USERS" --posts "$POSTS" --follows "$FOLLOWS" 2>&1 | grep -v '^bulkload: [a-z ]*: '
fi
du -sh "$data/photofeed.db" | sed 's/^/database: /'

addr=127.0.0.1:18290
"$work/photofeed" --addr "$addr" --data-dir "$data" --metrics-addr off --log-level error --rate-limits off >/dev/null 2>&1 &
pid=$!
pids+=($pid)
wait_up "http://$addr/healthz"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "idle after start: $(($(rss) / 1024)) MB"

"$work/photofeed" loadtest --target "http://$addr" --accounts "${ACCOUNTS:-$data/bulk-accounts.json}" \
	--duration "$DUR" --connections "$C" --json "$work/load.json" >"$work/load.out" 2>&1 &
load=$!
peak=0
while kill -0 "$load" 2>/dev/null; do
	r=$(rss)
	((r > peak)) && peak=$r
	sleep 1
done
wait "$load" || { cat "$work/load.out"; exit 1; }
sed -n '/^closed loop/,$p' "$work/load.out"
echo "RSS during the load: highest $((peak / 1024)) MB; after it $(($(rss) / 1024)) MB; process peak (VmHWM) $(($(awk '/^VmHWM/ {print $2}' "/proc/$pid/status") / 1024)) MB"
