#!/usr/bin/env bash
# Measures one node's capacity on this machine and prints it as the JSON
# that `photofeed plan --capacity FILE` reads:
#   read QPS   wrk GET /v1/feed?limit=20 (warm, 50 followed authors)
#   write QPS  wrk alternating PUT/DELETE /v1/posts/{id}/like (one write transaction each)
#   uploads/s  BenchmarkProcess (decode + three variants of a ~300 KB, 3 MP photo) × cores,
#              by CPU time; the 12 MP phone photo's figure goes to stderr
# The timeline entry size is Redis's MEMORY USAGE of an 800-entry timeline
# (one string of packed post ids, as internal/redisstore keeps it), divided
# by 800 (needs redis-server on 127.0.0.1:6379 and perl). Bytes
# per shard and per post are planning assumptions, listed as such.
#
#   bench/capacity.sh > capacity.json
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10s}
PF_ADDR=127.0.0.1:18092
source bench/lib.sh
start_seeded $PF_ADDR
post=$(curl -sf -H "Authorization: Bearer $token" "http://$PF_ADDR/v1/feed?limit=1" | sed -E 's/.*"items":\[\{"id":"([0-9]+)".*/\1/')

cat >"$work/read.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
cat >"$work/write.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
local n = 0
request = function()
  n = n + 1
  local m = (n % 2 == 0) and "PUT" or "DELETE"
  return wrk.format(m, "/v1/posts/$post/like")
end
LUA
rps() { wrk -t2 -c64 -d"$DUR" -s "$1" "$2" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
wrk -t2 -c64 -d2s -s "$work/read.lua" "http://$PF_ADDR/v1/feed?limit=20" >/dev/null
read_qps=$(rps "$work/read.lua" "http://$PF_ADDR/v1/feed?limit=20")
write_qps=$(rps "$work/write.lua" "http://$PF_ADDR/")

# Per photo CPU (cpu-ns/op), not wall time, which a shared machine inflates.
procs=$(go test -run XXX -bench 'BenchmarkProcess(Phone12MP)?$' -benchtime 5x ./internal/media)
per_sec() { echo "$procs" | awk -v b="$1" -v c="$(nproc)" '$1 ~ "^"b"(-[0-9]+)?$" {for (i = 2; i <= NF; i++) if ($i == "cpu-ns/op") printf "%.1f", c * 1e9 / $(i-1)}'; }
uploads=$(per_sec BenchmarkProcess)
echo "uploads/s per worker: $uploads (3 MP), $(per_sec BenchmarkProcessPhone12MP) (12 MP phone photo)" >&2

entry=9.05
if command -v redis-cli >/dev/null && redis-cli -p 6379 ping >/dev/null 2>&1; then
	# A timeline as redisstore keeps it: one string of 800 post ids,
	# 8 bytes each, big-endian, newest first.
	key="photofeed:capacity-probe:$$"
	perl -e 'print pack("Q>*", map { 239018014531361792 + (800 - $_) * 7919 } 1..800)' |
		redis-cli -p 6379 -x SET "$key" >/dev/null
	entry=$(awk -v m="$(redis-cli -p 6379 MEMORY USAGE "$key")" 'BEGIN {printf "%.2f", m / 800}')
	redis-cli -p 6379 DEL "$key" >/dev/null
fi

cat <<JSON
{
  "machine": "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), embedded SQLite; measured $(date -u +%F) by bench/capacity.sh",
  "api_read_qps_per_node": $read_qps,
  "api_write_qps_per_node": $write_qps,
  "uploads_per_sec_per_worker": $uploads,
  "timeline_entry_bytes": $entry,
  "db_write_qps_per_shard": $write_qps,
  "db_storage_bytes_per_shard": 2000000000000,
  "metadata_bytes_per_post": 1000,
  "assumed": ["db_write_qps_per_shard (the node's write rate)", "db_storage_bytes_per_shard (2 TB, a planning choice)", "metadata_bytes_per_post (a post row, its blob references, likes and index entries)"]
}
JSON
