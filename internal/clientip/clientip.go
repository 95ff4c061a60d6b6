// Package clientip finds the address an HTTP request came from. Behind
// proxies the connection's peer is the nearest proxy; the client is then
// named in Forwarded (RFC 7239) or X-Forwarded-For, which anyone can
// write. So a header is read only when the peer is a trusted proxy, and
// only as far as the chain of trusted proxies goes: the client is the
// rightmost address that is not itself trusted.
//
// Only one header is read, the one the operator's proxies write. Proxies
// append to their own header and pass the other through as the client sent
// it (nginx, HAProxy and AWS ALB append X-Forwarded-For and leave a
// client's Forwarded alone), so reading the other one, first or as a
// fallback, would let a client name itself.
package clientip

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Header is the one header a Resolver reads the client from.
type Header string

const (
	XForwardedFor Header = "x-forwarded-for" // the default: what most proxies write
	Forwarded     Header = "forwarded"       // RFC 7239's for=
)

// ParseHeader reads a header choice, in any case.
func ParseHeader(s string) (Header, error) {
	switch h := Header(strings.ToLower(strings.TrimSpace(s))); h {
	case XForwardedFor, Forwarded:
		return h, nil
	}
	return "", fmt.Errorf("%q is neither %s nor %s", s, XForwardedFor, Forwarded)
}

// Resolver picks the client address of requests given the trusted proxies.
type Resolver struct {
	trusted []netip.Prefix
	header  Header
}

// ParseTrusted reads a comma-separated list of CIDR ranges; a bare address
// is a range of one.
func ParseTrusted(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR range", f)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR range", f)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(0, p.Bits()-96))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// New returns a Resolver trusting the given ranges (none: headers are
// never read) to write the client into header ("": X-Forwarded-For).
func New(trusted []netip.Prefix, header Header) *Resolver {
	if header == "" {
		header = XForwardedFor
	}
	return &Resolver{trusted: trusted, header: header}
}

func (res *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range res.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client address of a request from peer (its
// RemoteAddr) and its header.
func (res *Resolver) Resolve(remoteAddr string, h http.Header) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if len(res.trusted) == 0 || !res.isTrusted(peer) {
		return peer.String()
	}
	var hops []string
	if res.header == Forwarded {
		hops = forwardedFor(h.Values("Forwarded"))
	} else {
		hops = xForwardedFor(h.Values("X-Forwarded-For"))
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			break // an obfuscated or garbled hop: the proxy that reported it is as far as we can see
		}
		client = a
		if !res.isTrusted(a) {
			break
		}
	}
	return client.String()
}

// xForwardedFor lists the addresses of X-Forwarded-For fields, client
// first.
func xForwardedFor(fields []string) []string {
	var out []string
	for _, f := range fields {
		for _, a := range strings.Split(f, ",") {
			out = append(out, strings.TrimSpace(a))
		}
	}
	return out
}

// forwardedFor lists the for= values of Forwarded fields, client first;
// an element without for= is a hop we cannot name (""), which stops the
// walk at the proxy that added it. Values may be quoted strings, which
// may hold commas and semicolons.
func forwardedFor(fields []string) []string {
	var out []string
	for _, f := range fields {
		for _, elem := range splitQuoted(f, ',') {
			node := ""
			for _, pair := range splitQuoted(elem, ';') {
				k, v, ok := strings.Cut(pair, "=")
				if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
					node = unquote(strings.TrimSpace(v))
				}
			}
			out = append(out, node)
		}
	}
	return out
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
		v = strings.ReplaceAll(v, `\`, "") // quoted-pairs: an address has no backslash of its own
	}
	return v
}

// parseNode reads an address as the headers write it: 192.0.2.1,
// 192.0.2.1:4711, 2001:db8::1, [2001:db8::1] or [2001:db8::1]:4711.
// "unknown" and obfuscated identifiers ("_hidden") are not addresses.
func parseNode(s string) (netip.Addr, bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || (end+1 < len(s) && s[end+1] != ':') {
			return netip.Addr{}, false
		}
		s = s[1:end]
	} else if strings.Count(s, ":") == 1 {
		s, _, _ = strings.Cut(s, ":")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

type ctxKey struct{}

// Middleware resolves each request's client address once, for From.
func (res *Resolver) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, res.Resolve(r.RemoteAddr, r.Header))))
	})
}

// From returns the request's client address: as Middleware resolved it,
// or, outside it, the connection's peer.
func From(r *http.Request) string {
	if a, ok := r.Context().Value(ctxKey{}).(string); ok {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
