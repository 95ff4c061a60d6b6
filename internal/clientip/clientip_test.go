package clientip

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"unicode"
)

func mustTrust(t testing.TB, s string, header Header) *Resolver {
	t.Helper()
	p, err := ParseTrusted(s)
	if err != nil {
		t.Fatal(err)
	}
	return New(p, header)
}

func TestResolve(t *testing.T) {
	const proxies = "10.0.0.0/8, 192.168.1.1, fd00::/8"
	const xff, fwd = XForwardedFor, Forwarded
	tests := []struct {
		name, trusted string
		header        Header
		peer          string
		fields        map[string][]string
		want          string
	}{
		{"no proxies trusted: the peer, headers ignored", "", xff, "203.0.113.7:5000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}, "Forwarded": {"for=198.51.100.2"}}, "203.0.113.7"},
		{"no proxies trusted, Forwarded: the peer", "", fwd, "203.0.113.7:5000",
			map[string][]string{"Forwarded": {"for=198.51.100.2"}}, "203.0.113.7"},
		{"untrusted peer: a spoofed header changes nothing", proxies, xff, "203.0.113.7:5000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "203.0.113.7"},
		{"trusted peer, X-Forwarded-For", proxies, xff, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"the default header is X-Forwarded-For", proxies, "", "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"198.51.100.1"}, "Forwarded": {"for=203.0.113.99"}}, "198.51.100.1"},
		{"trusted peer without a header", proxies, xff, "10.1.2.3:5000", nil, "10.1.2.3"},
		{"the rightmost untrusted: a client's own spoofed entry is left of it", proxies, xff, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1, 198.51.100.1, 10.9.9.9"}}, "198.51.100.1"},
		{"several header fields are one list", proxies, xff, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"1.1.1.1", "198.51.100.1, 192.168.1.1"}}, "198.51.100.1"},
		{"every hop trusted: the leftmost", proxies, xff, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"10.0.0.1, 10.0.0.2"}}, "10.0.0.1"},
		{"a client's own Forwarded beside the proxy's X-Forwarded-For is ignored", proxies, xff, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {`for=203.0.113.99`}, "X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1"},
		{"a client's own Forwarded without X-Forwarded-For: the peer", proxies, xff, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {`for=203.0.113.99`}}, "10.1.2.3"},
		{"a client's own X-Forwarded-For beside the proxy's Forwarded is ignored", proxies, fwd, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {`for=198.51.100.9;proto=https`}, "X-Forwarded-For": {"203.0.113.99"}}, "198.51.100.9"},
		{"a client's own X-Forwarded-For without Forwarded: the peer", proxies, fwd, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"203.0.113.99"}}, "10.1.2.3"},
		{"Forwarded with ports, IPv6 and quoting", proxies, fwd, "[fd00::1]:5000",
			map[string][]string{"Forwarded": {`for="[2001:db8:cafe::17]:4711", for=10.0.0.5:80;by=10.0.0.6`}}, "2001:db8:cafe::17"},
		{"Forwarded, case and spaces", proxies, fwd, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {`For = "198.51.100.3" ;Proto=http`}}, "198.51.100.3"},
		{"an obfuscated hop stops the walk at the proxy that named it", proxies, fwd, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {`for=198.51.100.1, for=_hidden, for=10.0.0.7`}}, "10.0.0.7"},
		{"Forwarded that names no one: the peer, X-Forwarded-For not read", proxies, fwd, "10.1.2.3:5000",
			map[string][]string{"Forwarded": {"proto=https"}, "X-Forwarded-For": {"198.51.100.4"}}, "10.1.2.3"},
		{"garbage: the peer", proxies, xff, "10.1.2.3:5000",
			map[string][]string{"X-Forwarded-For": {"not an address"}}, "10.1.2.3"},
		{"IPv4-mapped peer and entry are plain IPv4", proxies, xff, "[::ffff:10.1.2.3]:5000",
			map[string][]string{"X-Forwarded-For": {"::ffff:198.51.100.1"}}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tt.fields {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			if got := mustTrust(t, tt.trusted, tt.header).Resolve(tt.peer, h); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	for in, want := range map[string]Header{"x-forwarded-for": XForwardedFor, "X-Forwarded-For": XForwardedFor, " Forwarded ": Forwarded} {
		if got, err := ParseHeader(in); got != want || err != nil {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x-real-ip", "forwarded,x-forwarded-for"} {
		if _, err := ParseHeader(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseTrusted(t *testing.T) {
	p, err := ParseTrusted(" 10.0.0.0/8 ,192.168.1.1,::ffff:172.16.0.0/108,")
	if err != nil || len(p) != 3 || p[1] != netip.MustParsePrefix("192.168.1.1/32") || p[2] != netip.MustParsePrefix("172.16.0.0/12") {
		t.Fatalf("%v %v", p, err)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.0/8,nope"} {
		if _, err := ParseTrusted(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Whatever the headers say, the answer is the peer or an address that
// appears in the one header the resolver reads, and an untrusted peer is
// always its own answer.
func FuzzResolve(f *testing.F) {
	f.Add("10.1.2.3:1", `for="[2001:db8:cafe::17]:4711", for=10.0.0.5:80;by=10.0.0.6`, "1.1.1.1, 198.51.100.1")
	f.Add("203.0.113.7:1", `for=_hidden;proto="a,b"`, "")
	f.Add("[fd00::1]:5", `for="\"[::1]\""`, "::ffff:1.2.3.4")
	resolvers := map[Header]*Resolver{XForwardedFor: mustTrust(f, "10.0.0.0/8, fd00::/8", XForwardedFor), Forwarded: mustTrust(f, "10.0.0.0/8, fd00::/8", Forwarded)}
	f.Fuzz(func(t *testing.T, peer, forwarded, xff string) {
		h := http.Header{}
		if forwarded != "" {
			h.Set("Forwarded", forwarded)
		}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		for header, res := range resolvers {
			read := xff
			if header == Forwarded {
				read = forwarded
			}
			got := res.Resolve(peer, h)
			a, err := netip.ParseAddr(got)
			if err != nil {
				// only a peer that is no address comes back as it was
				if New(nil, "").Resolve(peer, nil) != got {
					t.Fatalf("%q is neither an address nor the peer", got)
				}
				continue
			}
			peerAddr := New(nil, "").Resolve(peer, nil)
			if !res.isTrusted(netip.MustParseAddr(orZero(peerAddr))) && got != peerAddr {
				t.Fatalf("untrusted peer %s, answer %s", peer, got)
			}
			if got != peerAddr && !strings.Contains(read, strings.TrimPrefix(a.String(), "::ffff:")) && !mentions(read, a) {
				t.Fatalf("reading %s: answer %s is in neither the peer %s nor that header", header, got, peer)
			}
		}
	})
}

func orZero(s string) string {
	if _, err := netip.ParseAddr(s); err != nil {
		return "0.0.0.0"
	}
	return s
}

// mentions reports whether some token of s parses as a.
func mentions(s string, a netip.Addr) bool {
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || strings.ContainsRune(`,;="[]\`, r) }) {
		if b, ok := parseNode(tok); ok && b == a {
			return true
		}
		if b, err := netip.ParseAddr(tok); err == nil && b.Unmap() == a {
			return true
		}
	}
	return false
}
