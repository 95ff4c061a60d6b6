package app_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// One keep-alive connection to the gateway carries requests of both of
// its paths: bodyless GETs on the lean loop, then a POST, which moves the
// connection to net/http, then more GETs there. The edge holds on each:
// a good token passes with a request id and Forwarded, a bad one is
// refused with the same problem at the gateway, and the POST's body
// reaches the upstream whole.
func TestGatewayEdgeOnBothPathsOfOneConnection(t *testing.T) {
	up := newFakeUpstream(t)
	gw := startGateway(t, nodeOptions{}, []string{up.URL})
	good := sessionToken(t, gatewaySecret, 42, time.Now().Add(time.Hour))
	nc, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(nc)
	do := func(raw string) (*http.Response, string) {
		t.Helper()
		if _, err := io.WriteString(nc, raw); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	get := func(path, token string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + token + "\r\nX-Request-Id: req-" + path[1:] + "\r\n\r\n"
	}
	check := func(path string) {
		t.Helper()
		resp, body := do(get(path, good))
		if resp.StatusCode != 200 || body != "ok" || resp.Header.Get("X-Request-Id") != "req-"+path[1:] {
			t.Fatalf("GET %s: %d %q, request id %q", path, resp.StatusCode, body, resp.Header.Get("X-Request-Id"))
		}
		if up.count(func(r *http.Request) bool {
			return r.URL.Path == path && r.Header.Get("X-Request-Id") == "req-"+path[1:] &&
				strings.HasPrefix(r.Header.Get("Forwarded"), "for=127.0.0.1;host=gw;proto=http")
		}) != 1 {
			t.Fatalf("GET %s did not reach the upstream with its request id and Forwarded", path)
		}
	}
	refused := func() {
		t.Helper()
		resp, body := do(get("/bad", "not-a-token"))
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" ||
			resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("bad token: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}

	check("/lean-1")
	refused()
	check("/lean-2")
	resp, body := do("POST /upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + good +
		"\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", resp.StatusCode, body)
	}
	if up.count(func(r *http.Request) bool { return r.Method == "POST" && r.ContentLength == 5 }) != 1 {
		t.Fatal("the POST did not reach the upstream with its body")
	}
	check("/after-post")
	refused()
	if n := up.count(func(r *http.Request) bool { return r.URL.Path == "/bad" }); n != 0 {
		t.Fatalf("the upstream saw %d requests with a bad token", n)
	}
}
