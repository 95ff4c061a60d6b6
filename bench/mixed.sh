#!/usr/bin/env bash
# The mixed load of bench/mixed (200 users following 20 each, 1,000 posts;
# 90 % feed reads, 9 % likes/unlikes, 1 % profiles) against this tree's
# photofeed, on embedded SQLite. With REV, the same against REV's
# photofeed, seeded the same way, the runs alternated, so that the two
# can be compared on this noisy machine:
#
#   bench/mixed.sh [REV]        DUR=10s RUNS=3 C=16 by default
#
# With FLOOR=1, each run also measures the floor (P2's baseline): the
# bare handler of bench/barejson writing one seeded reader's feed page
# (20 items) as saved, under wrk with the same C connections, alternated
# with the mixed runs; the medians' ratio is printed. wrk is lighter on
# the shared cores than the Go load generator, so the ratio errs against
# photofeed. PF_FLAGS adds photofeed flags (e.g. --db URL --redis URL),
# split on spaces; an engine given there must be empty (a new database,
# an unused Redis database number), and only this tree's side is run
# with them, so PF_FLAGS and REV do not go together.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10s} RUNS=${RUNS:-3} C=${C:-16}
rev=${1:-}
source bench/lib.sh

go build -o "$work/mixed" ./bench/mixed
go build -o "$work/photofeed-tree" ./cmd/photofeed
sides=(tree)
read -ra pf_flags <<<"${PF_FLAGS:-}"
if [ -n "$rev" ] && [ ${#pf_flags[@]} -gt 0 ]; then
	echo "PF_FLAGS and REV do not go together: both sides would seed the same engines" >&2
	exit 1
fi
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
		--log-level error --rate-limits off "${pf_flags[@]}" >/dev/null 2>&1 &
	pids+=($!)
	wait_up "http://${addr[$side]}/healthz"
	"$work/mixed" -url "http://${addr[$side]}" -seed-only -state "$work/state-$side.json"
done

if [ -n "${FLOOR:-}" ]; then
	command -v wrk >/dev/null || { echo "FLOOR=1 needs wrk (apt-get install wrk)" >&2; exit 1; }
	go build -o "$work/barejson" ./bench/barejson
	reader=$(grep -o '"Tokens":\["[^"]*"' "$work/state-tree.json" | sed 's/.*\["//; s/"$//')
	# The fan-out and the thumbnails are asynchronous: wait for a full page.
	for _ in $(seq 300); do
		curl -sf -H "Authorization: Bearer $reader" "http://${addr[tree]}/v1/feed?limit=20" >"$work/page.json" || true
		[ "$(grep -o '"caption"' "$work/page.json" | wc -l)" -ge 20 ] && ! grep -q '"status":"processing"' "$work/page.json" && break
		sleep 0.1
	done
	echo "floor page: $(grep -o '"caption"' "$work/page.json" | wc -l) items, $(wc -c <"$work/page.json") bytes"
	"$work/barejson" -addr 127.0.0.1:18199 -sample "$work/page.json" &
	pids+=($!)
	wait_up "http://127.0.0.1:18199/v1/feed"
	sides+=(floor)
fi

for run in $(seq "$RUNS"); do
	for side in "${sides[@]}"; do
		if [ "$side" = floor ]; then
			line=$(wrk -t2 -c"$C" -d"$DUR" --latency http://127.0.0.1:18199/v1/feed | awk '
				/Requests\/sec/ {r = $2}
				/ 99%/ {p = $2 + 0; if ($2 ~ /us$/) p /= 1000; else if ($2 ~ /[^m]s$/) p *= 1000}
				END {printf "rps %s p99 %.2f\n", r, p}')
			echo "floor run $run: $line"
			echo "$line" >>"$work/out-floor"
			continue
		fi
		line=$("$work/mixed" -url "http://${addr[$side]}" -load-only -state "$work/state-$side.json" -duration "$DUR" -c "$C")
		echo "$side run $run: $line"
		echo "$line" >>"$work/out-$side"
	done
done
# Medians over the runs: rps and the feed's p50 and p99.
med() { awk -v f="$2" '{print $f}' "$work/out-$1" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for side in "${sides[@]}"; do
	if [ "$side" = floor ]; then
		echo "floor median: rps $(med floor 2)  p99 $(med floor 4) ms"
		continue
	fi
	echo "$side median: rps $(med "$side" 2)  feed p50 $(med "$side" 5) ms  feed p99 $(med "$side" 7) ms  like p99 $(med "$side" 12) ms"
done
if [ -n "${FLOOR:-}" ]; then
	awk -v t="$(med tree 2)" -v f="$(med floor 2)" 'BEGIN {printf "ratio mixed/floor = %.2f (medians %.0f / %.0f rps)\n", t/f, t, f}'
fi
