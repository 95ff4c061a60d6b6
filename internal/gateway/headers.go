package gateway

import (
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/photofeed/photofeed/internal/logging"
)

// hopHeaders belong to one connection, not to the message (RFC 9110
// §7.6.1): a proxy drops them, and any header the Connection field names.
// Expect goes too: the server already answered the client's 100-continue.
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect",
}

// forwardHeader copies the headers of a message to send on, without the
// hop-by-hop ones. Values are shared with src, which is not changed
// afterwards; a header that is appended to gets its own slice.
func forwardHeader(dst, src http.Header) {
	var named []string
	for _, v := range src["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			named = append(named, http.CanonicalHeaderKey(strings.TrimSpace(f)))
		}
	}
	for k, vv := range src {
		if slices.Contains(hopHeaders, k) || slices.Contains(named, k) {
			continue
		}
		dst[k] = vv
	}
}

const requestIDHeader = "X-Request-Id"

// requestID is the id this request is logged under when something in
// front of the proxy chose one, else the client's X-Request-Id if it is
// one we would log, or a new one: the same id then follows the request
// through every upstream.
func requestID(r *http.Request) string {
	if id := logging.RequestID(r.Context()); id != "" {
		return id
	}
	if id := r.Header.Get(requestIDHeader); logging.ValidID(id) {
		return id
	}
	return logging.NewID()
}

// clientAddrHeaders name the client to an upstream. The gateway writes
// them itself: one the client sent would let it pick the address the api
// nodes log and rate-limit, whenever the client shares their trusted range.
var clientAddrHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"}

// forwarded is the RFC 7239 Forwarded element sent upstream: the client
// address as the gateway resolved it, and the host and protocol the
// client asked for.
func forwarded(r *http.Request, host string) string {
	var b strings.Builder
	b.WriteString("for=")
	if strings.Contains(host, ":") {
		b.WriteString(`"[` + host + `]"`) // IPv6 must be bracketed and quoted
	} else {
		b.WriteString(host)
	}
	if r.Host != "" {
		b.WriteString(";host=" + quoteIfNeeded(r.Host))
	}
	if r.TLS != nil {
		b.WriteString(";proto=https")
	} else {
		b.WriteString(";proto=http")
	}
	return b.String()
}

// quotedPairs escapes what a quoted string may not hold bare; built once,
// as building a Replacer costs more than using it.
var quotedPairs = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// quoteIfNeeded writes v as an RFC 7230 token when it is one, else as a
// quoted string (a host with a port has a ':', which a token may not).
func quoteIfNeeded(v string) string {
	for _, c := range v {
		if !isTokenChar(c) {
			return `"` + quotedPairs.Replace(v) + `"`
		}
	}
	return v
}

func isTokenChar(c rune) bool {
	return c < 0x7f && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", c))
}

// peerAddr is the connection's peer, the client address when nothing in
// front of the gateway names another.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
