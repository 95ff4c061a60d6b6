package leanhttp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// echo answers with what it read of the request, its method in a header
// so that a reader of the answers knows which have no body.
func echo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Method", r.Method)
	b, err := io.ReadAll(r.Body)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	})
	fmt.Fprintf(w, "%s %s host=%q body=%q err=%v", r.Method, r.RequestURI, r.Host, b, err != nil)
	for _, k := range keys {
		fmt.Fprintf(w, " %s=%q", k, r.Header[k])
	}
}

// FuzzServer holds the whole lean loop (reading heads, pipelining, the
// hand-off with the bytes already read) to net/http: any bytes a client
// sends on a connection get the same answers from a server behind the
// lean loop as from net/http alone, in the same order, and the connection
// ends the same way. The answers are compared with their header fields in
// order and without Date, which differ harmlessly.
//
//	go test -run '^$' -fuzz FuzzServer ./internal/leanhttp
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyzGET /c HTTP/1.1\r\nHost: a\r\n\r\n",
		"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /g HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
		"GET /x HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /half HTTP/1.1\r\nHo",
		"garbage\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	lean, _, _ := start(f, http.HandlerFunc(echo))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	std := &http.Server{Handler: http.HandlerFunc(echo), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quietLog()}
	go std.Serve(ln)
	f.Cleanup(func() { std.Close() })
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4<<10 {
			return
		}
		got, want := converse(t, lean, in), converse(t, ln.Addr().String(), in)
		if got != want {
			t.Fatalf("sent %q\nlean loop: %q\nnet/http:  %q", in, got, want)
		}
	})
}

// converse sends in on a new connection, half-closes it and returns the
// answers, normalized.
func converse(t *testing.T, addr string, in []byte) string {
	t.Helper()
	c := dial(t, addr)
	if _, err := c.nc.Write(in); err != nil {
		return "write failed"
	}
	c.nc.(*net.TCPConn).CloseWrite()
	raw, err := io.ReadAll(c.br)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("reading the answers: %v", err)
	}
	return normalize(raw)
}

// normalize rewrites a stream of answers with each head's fields sorted
// and Date left out; bodies and the bytes after the last whole answer are
// kept as they are.
func normalize(raw []byte) string {
	var out strings.Builder
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		status, err := br.ReadString('\n')
		if err != nil {
			out.WriteString(status)
			return out.String()
		}
		out.WriteString(status)
		var fields []string
		length, chunked, bodyless := -1, false, false
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				out.WriteString(strings.Join(fields, "") + line)
				return out.String()
			}
			if line == "\r\n" {
				break
			}
			name, value, _ := strings.Cut(strings.TrimRight(line, "\r\n"), ": ")
			switch strings.ToLower(name) {
			case "date":
				continue
			case "content-length":
				length, _ = strconv.Atoi(value)
			case "transfer-encoding":
				chunked = value == "chunked"
			case "x-method":
				bodyless = value == http.MethodHead
			}
			fields = append(fields, line)
		}
		slices.Sort(fields)
		out.WriteString(strings.Join(fields, "") + "\r\n")
		code := ""
		if parts := strings.SplitN(status, " ", 3); len(parts) > 1 {
			code = parts[1]
		}
		switch {
		case bodyless || code == "204" || code == "304" || strings.HasPrefix(code, "1"):
		case chunked:
			// Chunks as they are, up to the last one and the blank line
			// after it (no trailers here).
			for {
				line, err := br.ReadString('\n')
				out.WriteString(line)
				if err != nil {
					return out.String()
				}
				n, perr := strconv.ParseInt(strings.TrimRight(line, "\r\n"), 16, 64)
				if perr != nil {
					rest, _ := io.ReadAll(br)
					return out.String() + string(rest)
				}
				chunk := make([]byte, n+2)
				k, _ := io.ReadFull(br, chunk)
				out.Write(chunk[:k])
				if n == 0 || k < len(chunk) {
					break
				}
			}
		case length >= 0:
			body := make([]byte, length)
			k, _ := io.ReadFull(br, body)
			out.Write(body[:k])
		default:
			rest, _ := io.ReadAll(br)
			out.Write(rest)
			return out.String()
		}
	}
}
