#!/usr/bin/env bash
# The mixed load of bench/mixed (200 users following 20 each, 1,000 posts;
# 90 % feed reads, 9 % likes/unlikes, 1 % profiles) against this tree's
# photofeed, on embedded SQLite. With REV, the same against REV's
# photofeed, seeded the same way, the runs alternated, so that the two
# can be compared on this noisy machine:
#
#   bench/mixed.sh [REV]        DUR=10s RUNS=3 C=16 by default
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10s} RUNS=${RUNS:-3} C=${C:-16}
rev=${1:-}
source bench/lib.sh

go build -o "$work/mixed" ./bench/mixed
go build -o "$work/photofeed-tree" ./cmd/photofeed
sides=(tree)
if [ -n "$rev" ]; then
	git worktree add -q --detach "$work/src" "$rev"
	(cd "$work/src" && go build -o "$work/photofeed-rev" ./cmd/photofeed)
	git worktree remove --force "$work/src"
	sides+=(rev)
fi

port=18190
declare -A addr
for side in "${sides[@]}"; do
	addr[$side]=127.0.0.1:$port
	port=$((port + 1))
	"$work/photofeed-$side" --addr "${addr[$side]}" --data-dir "$work/data-$side" --metrics-addr off \
		--log-level error --rate-limits off >/dev/null 2>&1 &
	pids+=($!)
	wait_up "http://${addr[$side]}/healthz"
	"$work/mixed" -url "http://${addr[$side]}" -seed-only -state "$work/state-$side.json"
done

for run in $(seq "$RUNS"); do
	for side in "${sides[@]}"; do
		line=$("$work/mixed" -url "http://${addr[$side]}" -load-only -state "$work/state-$side.json" -duration "$DUR" -c "$C")
		echo "$side run $run: $line"
		echo "$line" >>"$work/out-$side"
	done
done
# Medians over the runs: rps and the feed's p50 and p99.
for side in "${sides[@]}"; do
	med() { awk -v f="$1" '{print $f}' "$work/out-$side" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
	echo "$side median: rps $(med 2)  feed p50 $(med 5) ms  feed p99 $(med 7) ms"
done
