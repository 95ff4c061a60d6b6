#!/usr/bin/env bash
# Feed reads, like writes and post writes on the stores, in one run:
# embedded SQLite, PostgreSQL (the local server), PostgreSQL with a
# streaming replica (a throwaway primary + replica made with the installed
# binaries, as the postgres user), and the same with the logical shards on
# two databases. wrk -t2 -c64 for each; replica lag sampled from /readyz
# during the like writes. A post write answers once its thumbnails are made
# (the default --upload-wait), so it measures the whole upload path; each
# instance stops before the next starts.
#
#   bench/stores.sh [duration=10s]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10s}
source bench/lib.sh
BIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
as_pg() { su postgres -s /bin/sh -c "$*"; }

# A database on the local server for the plain PostgreSQL run.
db="photofeed_bench_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
cleanup_db() { psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true; }

# A throwaway primary + replica.
pgdir=$(mktemp -d /tmp/photofeed-bench-pg.XXXX)
chown postgres "$pgdir"
P1=25432
P2=25433
as_pg "$BIN/initdb -D $pgdir/p --auth=trust -U postgres --no-sync >/dev/null"
as_pg "$BIN/pg_ctl -D $pgdir/p -o '-p $P1 -k $pgdir -c listen_addresses=127.0.0.1 -c wal_level=replica' -l $pgdir/p.log -w start >/dev/null"
as_pg "$BIN/pg_basebackup -h 127.0.0.1 -p $P1 -U postgres -D $pgdir/r -R -X stream -c fast"
as_pg "$BIN/pg_ctl -D $pgdir/r -o '-p $P2 -k $pgdir -c listen_addresses=127.0.0.1' -l $pgdir/r.log -w start >/dev/null"
stop_pg() { as_pg "$BIN/pg_ctl -D $pgdir/r -m immediate stop; $BIN/pg_ctl -D $pgdir/p -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
trap 'cleanup; cleanup_db; stop_pg' EXIT

measure() { # name addr
	local name=$1 addr=$2 post
	cat >"$work/read-$addr.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
	post=$(curl -sf "http://$addr/v1/users/author_000/posts?limit=1" | sed -E 's/.*"items":\[\{"id":"([0-9]+)".*/\1/')
	case $post in *[!0-9]* | "") echo "$name: no post to like" >&2; exit 1 ;; esac
	cat >"$work/write-$addr.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
local n = 0
request = function()
  n = n + 1
  return wrk.format((n % 2 == 0) and "PUT" or "DELETE", "/v1/posts/$post/like")
end
LUA
	wrk -t2 -c64 -d2s -s "$work/read-$addr.lua" "http://$addr/v1/feed?limit=20" >/dev/null
	local reads writes
	reads=$(wrk -t2 -c64 -d"$DUR" -s "$work/read-$addr.lua" "http://$addr/v1/feed?limit=20" | awk '/Non-2xx/ {bad=1} /Requests\/sec/ {r=$2} END {printf "%.0f%s", r, bad ? " (with errors!)" : ""}')
	( for _ in $(seq 40); do curl -sf "http://$addr/readyz" | grep -o '"lag_ms":[0-9]*' | cut -d: -f2; sleep 0.25; done ) >"$work/lag-$addr" &
	local sampler=$!
	writes=$(wrk -t2 -c64 -d"$DUR" -s "$work/write-$addr.lua" "http://$addr/" | awk '/Non-2xx/ {bad=1} /Requests\/sec/ {r=$2} END {printf "%.0f%s", r, bad ? " (with errors!)" : ""}')
	kill $sampler 2>/dev/null || true
	local lag
	lag=$(sort -n "$work/lag-$addr" | awk '{a[NR]=$1} END {if (NR) printf "max %d ms, median %d ms", a[NR], a[int((NR+1)/2)]; else print "-"}')
	cat >"$work/post-$addr.lua" <<LUA
local f = io.open("$work/upload.body", "rb")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=photofeedbenchboundary"
LUA
	local posts
	posts=$(wrk -t2 -c64 -d"$DUR" -s "$work/post-$addr.lua" "http://$addr/v1/posts" | awk '/Non-2xx/ {bad=1} /Requests\/sec/ {r=$2} END {printf "%.0f%s", r, bad ? " (with errors!)" : ""}')
	kill "${pids[-1]}" 2>/dev/null || true # its thumbnail backlog must not load the next run
	wait "${pids[-1]}" 2>/dev/null || true
	echo "$name: feed reads $reads rps, like writes $writes rps, post writes $posts rps, replica lag under like writes: $lag"
}

start_seeded 127.0.0.1:18101
measure "sqlite" 127.0.0.1:18101
start_seeded 127.0.0.1:18102 --db "postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
measure "postgres" 127.0.0.1:18102
start_seeded 127.0.0.1:18103 --db "postgres://postgres@127.0.0.1:$P1/postgres?sslmode=disable" \
	--db-replicas "postgres://postgres@127.0.0.1:$P2/postgres?sslmode=disable"
measure "postgres+replica" 127.0.0.1:18103
# The 1,024 shards on two databases of the same primary (and replica).
as_pg "$BIN/psql -h 127.0.0.1 -p $P1 -qc 'CREATE DATABASE main' -c 'CREATE DATABASE one' -c 'CREATE DATABASE two'"
url() { echo "postgres://postgres@127.0.0.1:$1/$2?sslmode=disable"; }
printf 'one %s %s\ntwo %s %s\n' "$(url $P1 one)" "$(url $P2 one)" "$(url $P1 two)" "$(url $P2 two)" >"$work/shards"
start_seeded 127.0.0.1:18104 --db "$(url $P1 main)" --db-replicas "$(url $P2 main)" --shards "$work/shards"
measure "postgres+replica, shards on 2 databases" 127.0.0.1:18104
