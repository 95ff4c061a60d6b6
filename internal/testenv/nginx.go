package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// CachingProxy is an nginx with proxy_cache in front of an upstream, on a
// loopback port, stopped (by its PID) when the test ends. Responses carry
// X-Cache (HIT, MISS…). A GET or POST to /purge<path>, from loopback,
// refetches <path> from the upstream past the cache and stores the answer
// in its place: once the upstream says 404, the edge does too.
// (Stock nginx has no PURGE; Debian's ngx_cache_purge module crashes its
// worker on 1.22, so the refresh is how an nginx edge is purged.)
type CachingProxy struct {
	URL  string
	Port int
}

// ReserveCachingProxy picks the proxy's port before its upstream exists,
// for an upstream that must know where purges go.
func ReserveCachingProxy(t testing.TB) *CachingProxy {
	t.Helper()
	p := freePort(t)
	return &CachingProxy{Port: p, URL: "http://127.0.0.1:" + strconv.Itoa(p)}
}

// Start runs nginx proxying to upstream (http://host:port), or skips
// without nginx and its cache-purge module.
func (c *CachingProxy) Start(t testing.TB, upstream string) {
	t.Helper()
	bin := nginxBinary(t)
	dir := t.TempDir()
	conf := fmt.Sprintf(cachingProxyConf, "", dir, c.Port, upstream)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	runNginx(t, bin, path, dir)
	c.awaitListening(t, dir)
}

// nginxBinary finds nginx on PATH or where Debian installs it, or skips.
func nginxBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nginx", "/sbin/nginx"} {
			if _, err := os.Stat(p); err == nil {
				bin = p
			}
		}
	}
	if bin == "" {
		Missing(t, "nginx (apt-get install nginx-light)")
	}
	return bin
}

// cachingProxyConf is nginx.conf for a CachingProxy; its arguments are
// the run directory (%[2]s), the port (%[3]d) and the upstream (%[4]s).
const cachingProxyConf = `
daemon off;
worker_processes 1;
user root;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	proxy_cache_path %[2]s/cache keys_zone=edge:1m;
	server {
		listen 127.0.0.1:%[3]d;
		location / {
			proxy_pass %[4]s;
			proxy_cache edge;
			proxy_cache_key $uri;
			proxy_cache_valid 200 1h;
			proxy_cache_valid 404 1m;
			add_header X-Cache $upstream_cache_status always;
		}
		location ~ ^/purge(/.*)$ {
			allow 127.0.0.1;
			deny all;
			proxy_pass %[4]s$1;
			proxy_method GET;
			proxy_cache_methods GET HEAD POST;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_cache edge;
			proxy_cache_key $1;
			proxy_cache_bypass 1;
			proxy_ignore_headers Cache-Control Expires Set-Cookie;
			proxy_cache_valid 200 1h;
			proxy_cache_valid 404 1m;
		}
	}
}
`

// runNginx starts nginx with the config at path and stops it when the
// test ends, showing its error log (in dir) if the test failed.
func runNginx(t testing.TB, bin, path, dir string) {
	t.Helper()
	cmd := exec.Command(bin, "-c", path, "-e", filepath.Join(dir, "error.log"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// SIGTERM: the master stops its worker too (SIGKILL would orphan it).
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error log:\n%s", log)
		}
	})
}

func (c *CachingProxy) awaitListening(t testing.TB, dir string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(c.Port))
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %d: %s", c.Port, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
