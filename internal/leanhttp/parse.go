package leanhttp

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
)

// Limits on what the lean path parses; anything past them goes to
// net/http, which has its own (larger) limits and answers.
const (
	maxHead    = 8 << 10 // request line and headers, with the blank line
	maxHeaders = 64
)

// simpleRequest is the parsed head of a request the lean path serves.
type simpleRequest struct {
	method string
	target string
	url    *url.URL
	host   string
	header http.Header
}

// parseSimple parses head, one request head ending in "\r\n\r\n", if it is
// strictly simple: GET or HEAD, HTTP/1.1, an origin-form target, exactly
// one Host, header lines of token names and visible ASCII values, and no
// field that gives the request a body or changes the connection
// (Content-Length, Transfer-Encoding, Upgrade, Expect, Connection other
// than keep-alive, Trailer, TE), and not asking for an event stream. It reports false for anything else,
// well-formed or not: the caller then hands the connection to net/http,
// which answers it as it always has. Being strict here is what keeps
// request smuggling out: nothing the two parsers could read differently
// (a length, a fold, a bare LF, a second Host) is ever read by this one.
func parseSimple(head []byte) (*simpleRequest, bool) {
	if len(head) > maxHead || !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		return nil, false
	}
	// One string for the whole head: the method, target and header values
	// are slices of it, one allocation instead of one per field.
	s := string(head[:len(head)-2])
	line, rest, _ := strings.Cut(s, "\r\n")
	var method, target string
	switch {
	case strings.HasPrefix(line, "GET "):
		method, target = http.MethodGet, line[4:]
	case strings.HasPrefix(line, "HEAD "):
		method, target = http.MethodHead, line[5:]
	default:
		return nil, false
	}
	target, ok := strings.CutSuffix(target, " HTTP/1.1")
	if !ok || !validTarget(target) {
		return nil, false
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, false
	}
	req := &simpleRequest{method: method, target: target, url: u}
	h := newHeader(rest)
	hosts := 0
	ok = eachField(rest, func(key, value string) bool {
		switch key {
		case "Host":
			if hosts++; hosts > 1 || !validHost(value) {
				return false
			}
			req.host = value
			return true // net/http keeps Host out of the header map
		case "Content-Length", "Transfer-Encoding", "Upgrade", "Expect", "Trailer", "Te":
			return false
		case "Accept":
			// An event stream lasts until its client leaves: net/http
			// serves it, with the flushes and long writes it is made for.
			if strings.Contains(strings.ToLower(value), "text/event-stream") {
				return false
			}
		case "Connection":
			if !strings.EqualFold(value, "keep-alive") {
				return false
			}
		}
		h.add(key, value)
		return true
	})
	req.header = h.h
	if !ok {
		return nil, false
	}
	if hosts != 1 {
		return nil, false
	}
	return req, true
}

// eachField calls f with each header field of fields (the lines after
// the start line, each ending in CRLF) under its canonical name, its value
// trimmed, as long as f returns true. It reports false at the first line
// that is not a strict "token: visible ASCII" field (an obs-fold, a space
// before the colon, a control byte), or past maxHeaders lines.
func eachField(fields string, f func(key, value string) bool) bool {
	for n := 0; fields != ""; n++ {
		var line string
		line, fields, _ = strings.Cut(fields, "\r\n")
		if n >= maxHeaders {
			return false
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || !validName(name) {
			return false
		}
		value = strings.Trim(value, " \t")
		if !validValue(value) || !f(http.CanonicalHeaderKey(name), value) {
			return false
		}
	}
	return true
}

// headerBuilder fills an http.Header with one-value slices cut from one
// backing array, rather than one allocation per field.
type headerBuilder struct {
	h    http.Header
	slab []string
}

func newHeader(fields string) headerBuilder {
	n := strings.Count(fields, "\r\n")
	return headerBuilder{h: make(http.Header, n), slab: make([]string, 0, n)}
}

func (b *headerBuilder) add(key, value string) {
	if vv, ok := b.h[key]; ok {
		b.h[key] = append(vv, value) // a repeated field: rare, a slice of its own
		return
	}
	b.slab = append(b.slab, value)
	b.h[key] = b.slab[len(b.slab)-1 : len(b.slab) : len(b.slab)]
}

// validTarget accepts an origin-form target (a path and a query) of
// visible ASCII without a fragment.
func validTarget(t string) bool {
	return t != "" && t[0] == '/' && every(t, func(c byte) bool { return c > ' ' && c < 0x7f && c != '#' })
}

// validName accepts an RFC 9110 token.
func validName(n string) bool { return n != "" && every(n, isToken) }

func isToken(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c < 0x7f && strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// validValue accepts visible ASCII, spaces and tabs: no control bytes
// (a CR or LF inside a value is what splits requests) and no obs-text.
func validValue(v string) bool {
	return every(v, func(c byte) bool { return c >= ' ' && c < 0x7f || c == '\t' })
}

// validHost accepts a registered name or an IP literal, with a port.
func validHost(h string) bool {
	return h != "" && every(h, func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0
	})
}

func every(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}
