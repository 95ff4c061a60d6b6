package leanhttp

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ReadResponse reads the answer to req from br as http.ReadResponse
// would, with less work for the common case: a complete HTTP/1.1 head
// already buffered, a final status other than 204 and 304, strict fields,
// one Content-Length and no Transfer-Encoding or Trailer. Anything else
// (a chunked or close-delimited body, an informational answer, a head
// still arriving, a field the strict parser refuses) is read by
// http.ReadResponse from the same bytes, as nothing was consumed.
func ReadResponse(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	if resp, ok := readSimpleResponse(br, req); ok {
		return resp, nil
	}
	return http.ReadResponse(br, req)
}

func readSimpleResponse(br *bufio.Reader, req *http.Request) (*http.Response, bool) {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 || end+4 > maxHead {
		return nil, false
	}
	resp, ok := parseSimpleResponse(buf[:end+4], req)
	if !ok {
		return nil, false
	}
	br.Discard(end + 4)
	switch {
	case req.Method == http.MethodHead:
		resp.Body = http.NoBody
	case resp.ContentLength == 0:
		resp.Body = http.NoBody
	default:
		resp.Body = &fixedBody{br: br, left: resp.ContentLength}
	}
	return resp, true
}

// parseSimpleResponse parses head, a response head ending in "\r\n\r\n",
// when it is one readSimpleResponse serves; its Body is left to the
// caller.
func parseSimpleResponse(head []byte, req *http.Request) (*http.Response, bool) {
	s := string(head[:len(head)-2])
	line, rest, _ := strings.Cut(s, "\r\n")
	status, ok := strings.CutPrefix(line, "HTTP/1.1 ")
	if !ok || len(status) < 3 || len(status) > 3 && status[3] != ' ' {
		return nil, false
	}
	code, err := strconv.Atoi(status[:3])
	if err != nil || code < 200 || code > 599 || code == http.StatusNoContent || code == http.StatusNotModified ||
		!validValue(status) {
		return nil, false
	}
	resp := &http.Response{Status: status, StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Request: req, ContentLength: -1}
	h := newHeader(rest)
	ok = eachField(rest, func(key, value string) bool {
		switch key {
		case "Transfer-Encoding", "Trailer":
			return false
		case "Content-Length":
			if resp.ContentLength >= 0 || !digits(value) {
				return false
			}
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return false
			}
			resp.ContentLength = n
		case "Connection":
			switch {
			case strings.EqualFold(value, "close"):
				resp.Close = true
			case !strings.EqualFold(value, "keep-alive"):
				return false
			}
		}
		h.add(key, value)
		return true
	})
	if !ok || resp.ContentLength < 0 {
		return nil, false
	}
	if resp.Close {
		delete(h.h, "Connection") // as net/http, having read it
	}
	resp.Header = h.h
	return resp, true
}

func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fixedBody reads a body of a known length from the connection's reader,
// and reports its end with its last bytes, so that the connection goes
// back to its pool without another read.
type fixedBody struct {
	br   *bufio.Reader
	left int64
}

func (b *fixedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.br.Read(p)
	b.left -= int64(n)
	switch {
	case b.left == 0:
		return n, io.EOF
	case err == io.EOF:
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *fixedBody) Close() error { return nil }
