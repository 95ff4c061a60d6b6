#!/usr/bin/env bash
# Feed throughput: GET /v1/feed (20 items, warm) on photofeed next to a bare
# net/http handler writing the same bytes (the floor), in the same run, on
# loopback. Prints both figures and their ratio.
#
#   [ENCODING=gzip|zstd] bench/feed.sh [duration=10s] [connections=64] [photofeed flags...]
#
# e.g. bench/feed.sh 10s 64 --cache-ttl 0 (no caches), or
#      bench/feed.sh 10s 64 --redis redis://127.0.0.1:6379/0 (timelines in Redis)
#
# With ENCODING set, a second set follows with Accept-Encoding: ENCODING
# on both sides, the bare handler behind photofeed's own compression
# middleware (barejson -compress): the compressed ratio, beside the plain.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10s}
CONNS=${2:-64}
shift $(($# < 2 ? $# : 2))
PF_ADDR=127.0.0.1:18090
BARE_ADDR=127.0.0.1:18091
BAREZ_ADDR=127.0.0.1:18092 # the bare handler compressing, with ENCODING
source bench/lib.sh
go build -o "$work/barejson" ./bench/barejson
start_seeded $PF_ADDR "$@"
curl -sf -H "Authorization: Bearer $token" "http://$PF_ADDR/v1/feed?limit=20" >"$work/sample.json"
items=$(grep -o '"caption"' "$work/sample.json" | wc -l)
echo "feed sample: $items items, $(wc -c <"$work/sample.json") bytes"

"$work/barejson" -addr $BARE_ADDR -sample "$work/sample.json" &
pids+=($!)
wait_up "http://$BARE_ADDR/v1/feed"
if [ -n "${ENCODING:-}" ]; then
	"$work/barejson" -addr $BAREZ_ADDR -sample "$work/sample.json" -compress &
	pids+=($!)
	wait_up "http://$BAREZ_ADDR/v1/feed"
	size() { curl -sf -H "Accept-Encoding: $ENCODING" -o /dev/null -w '%{size_download}' "$@"; }
	echo "feed sample, $ENCODING: $(size -H "Authorization: Bearer $token" "http://$PF_ADDR/v1/feed?limit=20") bytes from photofeed, $(size "http://$BAREZ_ADDR/v1/feed") from the bare handler"
fi

cat >"$work/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
run() { # name url [script] [wrk flags...]
	wrk -t2 -c"$CONNS" -d"$DUR" ${3:+-s "$3"} "${@:4}" "$2" | awk -v n="$1" '/Requests\/sec/ {print n, $2} /Latency/ {print n "_latency_avg", $2} /Non-2xx/ {print n "_non2xx", $NF}'
}
# warm both, then measure: bare, feed, bare again (the machine is noisy)
wrk -t2 -c"$CONNS" -d2s -s "$work/auth.lua" "http://$PF_ADDR/v1/feed?limit=20" >/dev/null
wrk -t2 -c"$CONNS" -d2s "http://$BARE_ADDR/v1/feed" >/dev/null
out=$( { run bare1 "http://$BARE_ADDR/v1/feed"; run feed "http://$PF_ADDR/v1/feed?limit=20" "$work/auth.lua"; run bare2 "http://$BARE_ADDR/v1/feed"; } )
echo "$out"
echo "$out" | awk '$1=="bare1"{b1=$2} $1=="bare2"{b2=$2} $1=="feed"{f=$2} END {b=(b1+b2)/2; printf "ratio feed/bare = %.2f (feed %.0f rps, bare %.0f rps)\n", f/b, f, b}'
if [ -n "${ENCODING:-}" ]; then
	ae=(-H "Accept-Encoding: $ENCODING")
	wrk -t2 -c"$CONNS" -d2s -s "$work/auth.lua" "${ae[@]}" "http://$PF_ADDR/v1/feed?limit=20" >/dev/null
	wrk -t2 -c"$CONNS" -d2s "${ae[@]}" "http://$BAREZ_ADDR/v1/feed" >/dev/null
	out=$( { run bare1 "http://$BAREZ_ADDR/v1/feed" "" "${ae[@]}"; run feed "http://$PF_ADDR/v1/feed?limit=20" "$work/auth.lua" "${ae[@]}"; run bare2 "http://$BAREZ_ADDR/v1/feed" "" "${ae[@]}"; } )
	echo "$out" | sed "s/^/$ENCODING /"
	echo "$out" | awk -v e="$ENCODING" '$1=="bare1"{b1=$2} $1=="bare2"{b2=$2} $1=="feed"{f=$2} END {b=(b1+b2)/2; printf "ratio feed/bare (%s) = %.2f (feed %.0f rps, bare %.0f rps)\n", e, f/b, f, b}'
fi
