#!/usr/bin/env bash
# Measures one node's capacity on this machine and prints it as the JSON
# that `photofeed plan --capacity FILE` reads:
#   read QPS   wrk GET /v1/feed?limit=20 (warm, 50 followed authors)
#   write QPS  wrk alternating PUT/DELETE /v1/posts/{id}/like (one write transaction each)
#   uploads/s  BenchmarkProcess (decode + three variants of a ~300 KB photo) × cores
# The timeline entry size is Redis's MEMORY USAGE of an 800-entry sorted set
# of post ids, divided by 800 (needs redis-server on 127.0.0.1:6379). Bytes
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

ns=$(go test -run XXX -bench 'BenchmarkProcess$' -benchtime 5x ./internal/media | awk '/^BenchmarkProcess/ {print $3}')
cores=$(nproc)
uploads=$(awk -v ns="$ns" -v c="$cores" 'BEGIN {printf "%.1f", c * 1e9 / ns}')

entry=115
if command -v redis-cli >/dev/null && redis-cli -p 6379 ping >/dev/null 2>&1; then
	key="photofeed:capacity-probe:$$"
	args=()
	for i in $(seq 800); do args+=("$i" "$((239018014531361792 + i * 7919))"); done
	redis-cli -p 6379 ZADD "$key" "${args[@]}" >/dev/null
	entry=$(( $(redis-cli -p 6379 MEMORY USAGE "$key") / 800 ))
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
