package leanhttp

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// FuzzParseSimple holds the lean parser to net/http's: whatever it
// accepts, http.ReadRequest must read from the same bytes as the same
// request (method, target, URL, Host, every header), without a body and
// ending where the lean parser ended. A request the two would read
// differently is one an attacker could smuggle past the gateway.
//
//	go test -run '^$' -fuzz FuzzParseSimple ./internal/leanhttp
func FuzzParseSimple(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /v1/feed?limit=20 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAuthorization: Bearer x.y.z\r\nUser-Agent: wrk\r\n\r\n",
		"HEAD /x HTTP/1.1\r\nhost: a\r\nx-a: 1\r\nX-A: 2\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \t v \t\r\nEmpty:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX : v\r\n\r\n",
		"GET /a/../b?q=%20 HTTP/1.1\r\nHost: [::1]:80\r\nCookie: a=b; c=d\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		end := bytes.Index(in, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		head := in[:end+4]
		got, ok := parseSimple(head)
		if !ok {
			return
		}
		br := bufio.NewReader(bytes.NewReader(head))
		want, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("lean parser accepted %q, net/http refused it: %v", head, err)
		}
		if br.Buffered() != 0 {
			t.Fatalf("net/http read %q as a shorter request, %d bytes left", head, br.Buffered())
		}
		if want.Method != got.method || want.RequestURI != got.target || want.URL.String() != got.url.String() ||
			want.Host != got.host || want.ProtoMajor != 1 || want.ProtoMinor != 1 {
			t.Fatalf("%q: net/http read %s %s %s host %q, lean %s %s %s host %q", head,
				want.Method, want.RequestURI, want.URL, want.Host, got.method, got.target, got.url, got.host)
		}
		if !reflect.DeepEqual(map[string][]string(want.Header), map[string][]string(got.header)) {
			t.Fatalf("%q: net/http read header %q, lean %q", head, want.Header, got.header)
		}
		if want.ContentLength != 0 || len(want.TransferEncoding) > 0 || want.Close {
			t.Fatalf("%q: net/http read a body or a closing request (length %d, %v, close %v)",
				head, want.ContentLength, want.TransferEncoding, want.Close)
		}
		if n, _ := io.Copy(io.Discard, want.Body); n != 0 {
			t.Fatalf("%q: net/http read a %d-byte body", head, n)
		}
	})
}

// FuzzReadResponse holds the lean response reader to http.ReadResponse:
// for any bytes, both read the same status, header, length, body and
// connection decision (or the lean one leaves the bytes to net/http).
//
//	go test -run '^$' -fuzz FuzzReadResponse ./internal/leanhttp
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
		"HTTP/1.1 200\r\nContent-Length: 1\r\nX: a\r\nx: b\r\n\r\nz",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello",
		"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		req := &http.Request{Method: method}
		br := bufio.NewReaderSize(bytes.NewReader(in), 16<<10)
		br.Peek(len(in)) // buffered whole, as a head that came in one read
		got, ok := readSimpleResponse(br, req)
		if !ok {
			return
		}
		gotBody, gotErr := io.ReadAll(got.Body)
		want, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), req)
		if err != nil {
			t.Fatalf("lean reader accepted %q, net/http refused it: %v", in, err)
		}
		wantBody, wantErr := io.ReadAll(want.Body)
		if got.Status != want.Status || got.StatusCode != want.StatusCode || got.ContentLength != want.ContentLength ||
			got.Close != want.Close || len(want.TransferEncoding) > 0 || want.Trailer != nil {
			t.Fatalf("%q: net/http read %q %d length %d close %v te %v, lean %q %d length %d close %v", in,
				want.Status, want.StatusCode, want.ContentLength, want.Close, want.TransferEncoding,
				got.Status, got.StatusCode, got.ContentLength, got.Close)
		}
		if !reflect.DeepEqual(map[string][]string(want.Header), map[string][]string(got.Header)) {
			t.Fatalf("%q: net/http read header %q, lean %q", in, want.Header, got.Header)
		}
		if !bytes.Equal(gotBody, wantBody) || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: net/http read body %q (%v), lean %q (%v)", in, wantBody, wantErr, gotBody, gotErr)
		}
	})
}
