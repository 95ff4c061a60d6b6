package leanhttp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// scriptHandler plays a handler's calls from the request's "ops" query
// parameter (hex): each byte an operation, some taking the next byte as
// their argument. Both servers in FuzzResponseWriter run it.
func scriptHandler(w http.ResponseWriter, r *http.Request) {
	ops, _ := hex.DecodeString(r.URL.Query().Get("ops"))
	arg := func(i *int) int {
		if *i+1 < len(ops) {
			*i++
			return int(ops[*i])
		}
		return 0
	}
	for i := 0; i < len(ops); i++ {
		switch ops[i] % 11 {
		case 0:
			w.Header().Set("X-A", "v"+strconv.Itoa(arg(&i)))
		case 1:
			w.Header().Set("Content-Type", "text/plain")
		case 2:
			w.Header().Set("Content-Length", strconv.Itoa(arg(&i)*37))
		case 3:
			codes := []int{200, 201, 204, 304, 404, 500, 299}
			w.WriteHeader(codes[arg(&i)%len(codes)])
		case 4:
			w.Write([]byte(strings.Repeat("<a>", arg(&i)*23)))
		case 5:
			http.NewResponseController(w).Flush()
		case 6:
			w.Header().Set("Trailer", "X-T")
		case 7:
			w.Header().Set("X-T", "t"+strconv.Itoa(arg(&i)))
		case 8:
			w.Header().Set("Connection", "close")
		case 9:
			w.Header().Del("X-A")
		case 10:
			w.Header().Set(http.TrailerPrefix+"X-P", "p")
		}
	}
}

// answer is what a client can tell of a response, its framing included.
type answer struct {
	Status  int
	Length  int64
	Chunked bool
	Header  http.Header
	Body    string
	BodyErr bool
	Trailer http.Header
	Close   bool
}

func fetch(t *testing.T, addr, method, ops string) answer {
	t.Helper()
	c := dial(t, addr)
	c.send(fmt.Sprintf("%s /?ops=%s HTTP/1.1\r\nHost: h\r\n\r\n", method, ops))
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s ops=%s: %v", method, ops, err)
	}
	b, err := io.ReadAll(resp.Body)
	h := resp.Header.Clone()
	h.Del("Date")
	return answer{Status: resp.StatusCode, Length: resp.ContentLength, Chunked: len(resp.TransferEncoding) > 0, Header: h, Body: fmt.Sprintf("%d bytes %x", len(b), sha256.Sum256(b)), BodyErr: err != nil,
		Trailer: resp.Trailer, Close: resp.Close}
}

// FuzzResponseWriter holds the lean ResponseWriter to net/http's: any
// sequence of a handler's calls gives the client the same status, header,
// body, trailers and connection fate from both.
//
//	go test -run '^$' -fuzz FuzzResponseWriter ./internal/leanhttp
func FuzzResponseWriter(f *testing.F) {
	for _, s := range [][]byte{
		{}, {4, 1}, {0, 5, 3, 1, 4, 2}, {2, 3, 4, 5}, {6, 4, 9, 5, 4, 1, 7, 3},
		{3, 2, 4, 200}, {8, 4, 1}, {1, 3, 3, 4, 1, 0, 7}, {4, 100, 5, 4, 100, 10},
		{2, 1, 4, 1, 4, 1}, {3, 3, 4, 2}, {0, 1, 3, 0, 0, 2, 9, 4, 1},
	} {
		f.Add(s, false)
	}
	lean, _, _ := start(f, http.HandlerFunc(scriptHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	std := &http.Server{Handler: http.HandlerFunc(scriptHandler), ErrorLog: quietLog()}
	go std.Serve(ln)
	f.Cleanup(func() { std.Close() })
	f.Fuzz(func(t *testing.T, ops []byte, head bool) {
		if len(ops) > 64 {
			return
		}
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		enc := hex.EncodeToString(ops)
		got, want := fetch(t, lean, method, enc), fetch(t, ln.Addr().String(), method, enc)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s ops %v:\nlean     %+v\nnet/http %+v", method, ops, got, want)
		}
	})
}

// quietLog keeps net/http's complaints about the handlers' odd calls (a
// body on a 204, a length overrun) out of the fuzzer's output.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
