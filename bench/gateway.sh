#!/usr/bin/env bash
# The front door's cost: wrk against one api node directly, through the
# photofeed gateway (session tokens verified and rate limits enforced at
# the gateway), through nginx and through HAProxy — the same upstream, in
# the same run, alternated — on two endpoints:
#   feed    GET /v1/feed?limit=20, authenticated, warm (~10 KB)
#   small   GET /v1/me, authenticated (~200 bytes: the proxy's own cost dominates)
# Installs nginx-light and haproxy from Debian when missing.
#
#   bench/gateway.sh            DUR=10s RUNS=3 C=64 by default
#   GW_ENV=GOMAXPROCS=1 bench/gateway.sh   the gateway with that environment
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-10s} RUNS=${RUNS:-3} C=${C:-64}
API=127.0.0.1:18301 GW=127.0.0.1:18302 NGINX=127.0.0.1:18303 HAP=127.0.0.1:18304
source bench/lib.sh

for bin in nginx haproxy wrk; do
	command -v "$bin" >/dev/null || { apt-get install -y -qq nginx-light haproxy wrk >/dev/null; break; }
done

secret=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 64)
# The limits the gateway enforces: high enough that wrk's one user is
# never refused, so every request is checked and then proxied.
cat >"$work/limits.json" <<JSON
{"policies": {"authenticated": {"limit": 100000000, "window": "5m", "algorithm": "sliding_window_counter"},
              "anonymous": {"limit": 100000000, "window": "5m", "algorithm": "sliding_window_counter"}}}
JSON
start_seeded $API --secret "$secret" --metrics-addr off
env ${GW_ENV:-} "$work/photofeed" serve --roles gateway --addr $GW --upstreams "http://$API" --secret "$secret" \
	--data-dir "$work/gw" --metrics-addr off --log-level error --rate-limits "$work/limits.json" >/dev/null 2>&1 &
pids+=($!)
wait_up "http://$GW/readyz"

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log crit;
events { worker_connections 4096; }
http {
  access_log off;
  upstream api { server $API; keepalive 128; }
  server {
    listen $NGINX;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Forwarded "for=\$remote_addr";
      proxy_buffering on;
    }
  }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" -g 'daemon off;' &
pids+=($!)

cat >"$work/haproxy.cfg" <<CONF
global
  nbthread 2
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always
frontend fe
  bind $HAP
  default_backend api
backend api
  server api1 $API
CONF
haproxy -f "$work/haproxy.cfg" -db &
pids+=($!)
wait_up "http://$NGINX/healthz"
wait_up "http://$HAP/healthz"

cat >"$work/auth.lua" <<LUA
wrk.headers["Authorization"] = "Bearer $token"
LUA
rps() { # URL
	wrk -t2 -c"$C" -d"$DUR" -s "$work/auth.lua" "$1" | awk '/Requests\/sec/ {printf "%.0f", $2}'
}
for path in "/v1/feed?limit=20" "/v1/me"; do
	for front in $API $GW $NGINX $HAP; do wrk -t2 -c"$C" -d1s -s "$work/auth.lua" "http://$front$path" >/dev/null; done
	for run in $(seq "$RUNS"); do
		line="$path run $run:"
		for front in direct:$API gateway:$GW nginx:$NGINX haproxy:$HAP; do
			r=$(rps "http://${front#*:}$path")
			echo "${front%%:*} $r" >>"$work/out-${path//[^a-z]/}"
			line="$line ${front%%:*} $r"
		done
		echo "$line"
	done
	for name in direct gateway nginx haproxy; do
		awk -v n="$name" '$1 == n {print $2}' "$work/out-${path//[^a-z]/}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' >"$work/med-$name"
	done
	d=$(cat "$work/med-direct")
	printf '%s medians: direct %s' "$path" "$d"
	for name in gateway nginx haproxy; do
		m=$(cat "$work/med-$name")
		printf ', %s %s (%.2f×)' "$name" "$m" "$(awk -v a="$m" -v b="$d" 'BEGIN {print a / b}')"
	done
	echo
done
