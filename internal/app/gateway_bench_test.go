package app

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/httpmetrics"
	"github.com/photofeed/photofeed/internal/leanhttp"
	"github.com/photofeed/photofeed/internal/tracing"
)

// BenchmarkGatewayEdge is an authenticated GET through the gateway role's
// whole handler (client address, request id and log line, token check,
// rate limit, proxy) to a 10-byte upstream, without the client's network:
// what the gateway adds per request, for a CPU profile.
//
//	go test -run '^$' -bench GatewayEdge -cpu 2 -cpuprofile cpu.out ./internal/app
func BenchmarkGatewayEdge(b *testing.B) {
	h, tok, stop := benchGateway(b)
	defer stop()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", "/v1/me", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body.String())
			}
		}
	})
}

// benchGateway is the gateway role's handler in front of a 10-byte
// upstream, with a token for it and limits wrk's one user never reaches.
func benchGateway(b *testing.B) (http.Handler, string, func()) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "0123456789") }))
	secret := "0123456789abcdef0123456789abcdef"
	gw, err := gateway.New(gateway.Config{Upstreams: []string{up.URL}, HashKey: userKey, ClientAddr: clientip.From})
	if err != nil {
		b.Fatal(err)
	}
	// Limits wrk's one user never reaches: every request is counted and passed.
	limitsFile := b.TempDir() + "/limits.json"
	os.WriteFile(limitsFile, []byte(`{"policies": {"authenticated": {"limit": 100000000, "window": "5m", "algorithm": "sliding_window_counter"},
              "anonymous": {"limit": 100000000, "window": "5m", "algorithm": "sliding_window_counter"}}}`), 0o600)
	cfg := Config{Secret: secret, RateLimits: limitsFile}
	log := slog.New(slog.DiscardHandler)
	limits, _ := rateLimits(cfg, nil, gatewayLimitPrefix, nil, &breakerStates{}, log)
	key := subkey([]byte(secret), "session-token")
	untraced, _ := tracing.New(tracing.Config{})
	h := gatewayServer(cfg, gw, limits, httpmetrics.New(), key, untraced, log)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("session-token"))
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "photofeed", "sub": strconv.FormatInt(42, 10), "sid": "7", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}).SignedString(m.Sum(nil))
	return h, tok, up.Close
}

// BenchmarkGatewayConn is BenchmarkGatewayEdge with the server in the
// measure: keep-alive connections on loopback, each sending the next
// request when the last answer has been read, through net/http alone and
// through the lean loop in front of it (what serve runs on a gateway).
// The client is a few lines over a raw connection, so that its own cost
// stays small beside the server's. cpu-ns/op is the process's CPU time
// (client, gateway and upstream together) per request.
//
//	go test -run '^$' -bench GatewayConn -benchmem -cpu 2 ./internal/app
func BenchmarkGatewayConn(b *testing.B) {
	for _, lean := range []bool{false, true} {
		name := "server=net/http"
		if lean {
			name = "server=lean"
		}
		b.Run(name, func(b *testing.B) {
			h, tok, stop := benchGateway(b)
			defer stop()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			srv := &http.Server{Handler: h}
			var front interface {
				Serve(net.Listener) error
				Shutdown(context.Context) error
			} = srv
			if lean {
				front = leanhttp.New(srv)
			}
			go front.Serve(ln)
			defer front.Shutdown(context.Background())
			req := []byte("GET /v1/me HTTP/1.1\r\nHost: gw\r\nUser-Agent: bench\r\nAuthorization: Bearer " + tok + "\r\n\r\n")
			b.ReportAllocs()
			cpu0 := processCPU()
			defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
			b.RunParallel(func(pb *testing.PB) {
				nc, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					b.Error(err)
					return
				}
				defer nc.Close()
				br := bufio.NewReader(nc)
				for pb.Next() {
					if _, err := nc.Write(req); err != nil {
						b.Error(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Error(resp.Status)
						return
					}
				}
			})
		})
	}
}

// processCPU is the CPU time this process has used, user and system, in
// nanoseconds: on a shared machine the CPU a request costs is steadier
// than its wall time, which counts waiting for other work too.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
