#!/usr/bin/env bash
# The Redis limiter against a bare EVALSHA of a trivial script, same run,
# same server (127.0.0.1:6379): redis-benchmark with 50 clients, then the
# Go benchmark with 50 goroutines over a 64-connection pool.
#
#   bench/redis-limiter.sh
set -euo pipefail
cd "$(dirname "$0")/.."
sha=$(redis-cli -p 6379 SCRIPT LOAD "return 1")
echo "bare EVALSHA (redis-benchmark -c 50 -n 300000):"
redis-benchmark -p 6379 -c 50 -n 300000 -q EVALSHA "$sha" 0 | tr '\r' '\n' | grep -v '^$' | tail -1
echo "photofeed limiter (go test -bench BenchmarkRedisAllow):"
go test -run XXX -bench BenchmarkRedisAllow -benchtime 3s ./ratelimit | awk '/^BenchmarkRedisAllow/ {printf "%s %.0f decisions/s\n", $1, 1e9/$3}'
