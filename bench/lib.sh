# Shared by the bench scripts: a work dir cleaned on exit, the binaries,
# and a seeded photofeed on a loopback port. Source it, then call
# start_seeded ADDR; it sets $token (the reader's bearer token).
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# A new PostgreSQL deployment creates its 1,024 shard schemas first (~30 s).
wait_up() { for _ in $(seq 900); do curl -sf "$1" >/dev/null && return; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }

start_seeded() { # ADDR [photofeed flags...]
	local addr=$1
	shift
	go build -o "$work/photofeed" ./cmd/photofeed
	go build -o "$work/seed" ./bench/seed
	"$work/photofeed" --addr "$addr" --data-dir "$work/data-$addr" --log-level error --rate-limits off "$@" >/dev/null 2>&1 &
	pids+=($!)
	wait_up "http://$addr/healthz"
	# 50 followed authors × 10 posts each: the reader's feed spans 500 posts.
	token=$("$work/seed" -url "http://$addr" -authors 50 -posts 10 -photo "$work/upload.body")
}
