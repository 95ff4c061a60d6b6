package app_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// burst sends n requests at once, each built by req(i), and counts the
// answers by status.
func burst(t *testing.T, n int, req func(i int) *http.Request) map[int]int {
	t.Helper()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		r := req(i)
		wg.Go(func() {
			<-gate
			resp, err := http.DefaultClient.Do(r)
			status := -1
			if err == nil {
				status = resp.StatusCode
				if status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					status = -503 // a 503 must say when to come back
				}
				resp.Body.Close()
			}
			mu.Lock()
			got[status]++
			mu.Unlock()
		})
	}
	close(gate)
	wg.Wait()
	return got
}

// However many wrong passwords arrive at once for one user from one
// address, at most the login_failures limit of them reach the password
// check (a 401); the rest are refused before it (429). The check is made
// slow enough (argon2id 1 MiB × 20 passes) that the attempts overlap, as
// they do at the default cost. Since each attempt spends before its check
// and none succeeds, none gives its reservation back: exactly the limit is
// checked (the per-account back-off only starts after 20 failures), so
// fewer is as wrong as more.
func TestLoginFailuresAreSpentBeforeTheCheck(t *testing.T) {
	s := start(t, "--argon2-memory", "1024", "--argon2-time", "20", "--rate-limits", limitsFile(t, `{"policies": {"login_failures": {"limit": 10, "window": "15m", "algorithm": "sliding_window_log"}}}`))
	s.client(t).signup("alice")
	got := burst(t, 50, func(int) *http.Request {
		r, _ := http.NewRequest("POST", s.URL+"/v1/sessions", strings.NewReader(`{"username":"alice","password":"wrong-password"}`))
		r.Header.Set("Content-Type", "application/json")
		return r
	})
	t.Logf("50 parallel wrong passwords for one user from one address: %d password checks (401), %d refused before the check (429)", got[401], got[429])
	if got[401] != 10 || got[429] != 40 {
		t.Fatalf("answers %v: want exactly 10 × 401, the other 40 429", got)
	}
	// A success refunds its reservation: the owner, from another address
	// as far as the limit knows (another name here), is not locked out by
	// their own logins.
	c := s.client(t)
	c.signup("bob")
	for i := range 12 {
		if r := c.jsonReq("POST", "/v1/sessions", `{"username":"bob","password":"password-bob"}`); r.StatusCode != 201 {
			t.Fatalf("good login %d: %d %s", i, r.StatusCode, r.Body)
		}
	}
}

// The UI's login form counts against the same username bucket whatever its
// encoding and however the name is capitalised.
func TestLoginNameFromEveryEncoding(t *testing.T) {
	s := start(t, "--rate-limits", limitsFile(t, `{"policies": {"login_failures": {"limit": 3, "window": "15m", "algorithm": "sliding_window_log"}}}`))
	s.client(t).signup("alice")
	s.client(t).signup("bob")
	c := s.client(t)
	for _, name := range []string{"Alice", "ALICE", " alice"} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf", c.csrf("/login"))
		mw.WriteField("username", name)
		mw.WriteField("password", "wrong-password")
		mw.Close()
		if r := c.do("POST", "/login", &body, "Content-Type", mw.FormDataContentType()); r.StatusCode != 401 {
			t.Fatalf("multipart login as %q: %d", name, r.StatusCode)
		}
	}
	r := c.jsonReq("POST", "/v1/sessions", `{"username":"alice","password":"password-alice"}`)
	if v, _ := r.problem(t, 429)["violated-policies"].([]any); len(v) != 1 || v[0] != "login_failures" {
		t.Fatalf("violated %v", v)
	}
	if r := c.jsonReq("POST", "/v1/sessions", `{"username":"bob","password":"password-bob"}`); r.StatusCode != 201 {
		t.Fatalf("bob, from the same address: %d %s", r.StatusCode, r.Body)
	}
}

// 50 parallel logins with unknown names, each an argon2id hash of 19 MiB,
// keep the process's peak memory within the node-wide hashing budget (the
// default: 4 hashes' worth) plus a stated margin: the GC's headroom (at
// GOGC=100 the heap grows to twice the live heap, the hashes in progress
// and what was live before, before it is collected), one more budget's
// worth for freed hash memory the runtime has not yet handed back to the
// kernel (seen: growth up to 246 MiB against 2 budgets' 231), and 64 MiB
// for everything else (the 50 connections, the runtime). Unbounded, the
// same burst grew RSS by 875 MiB. Over the budget a
// login waits briefly and then gets a 503 with Retry-After.
func TestPasswordHashMemoryIsCapped(t *testing.T) {
	skipMemoryUnderRace(t)
	skipInCluster(t, "one node's hashing budget in the process's RSS, which holds three api nodes here")
	const argon2KiB = 19 * 1024
	s := start(t, "--argon2-memory", strconv.Itoa(argon2KiB))
	budgetKiB := int64(4 * argon2KiB)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	liveKiB := int64(ms.HeapAlloc >> 10)
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // peak := now, where the kernel allows
	base, baseRSS := procStatus(t, "VmHWM")>>10, procStatus(t, "VmRSS")>>10
	got := burst(t, 50, func(i int) *http.Request {
		r, _ := http.NewRequest("POST", s.URL+"/v1/sessions", strings.NewReader(fmt.Sprintf(`{"username":"nobody%d","password":"wrong-password"}`, i)))
		r.Header.Set("Content-Type", "application/json")
		return r
	})
	peak := procStatus(t, "VmHWM") >> 10
	growth := peak - max(base, baseRSS)
	limit := 3*budgetKiB + liveKiB + 64<<10
	t.Logf("50 parallel unknown-name logins (argon2id %d KiB): answers %v; VmRSS before %d MiB, VmHWM before %d MiB, after %d MiB: growth %d MiB (limit %d MiB = 3 × the %d MiB hashing budget + %d MiB live heap before + 64 MiB)",
		argon2KiB, got, baseRSS>>10, base>>10, peak>>10, growth>>10, limit>>10, budgetKiB>>10, liveKiB>>10)
	if got[401]+got[503] != 50 {
		t.Fatalf("answers %v: want only 401, or 503 with Retry-After", got)
	}
	if growth > limit {
		t.Fatalf("peak memory grew %d MiB, over %d MiB", growth>>10, limit>>10)
	}
}

// Behind a trusted proxy each client has its own bucket, named by the one
// header the operator chose (X-Forwarded-For unless --client-ip-header
// says forwarded); from anyone else those headers are ignored, so a client
// cannot step out of its bucket by writing them. Nor can it behind the
// proxy by writing the other header, which proxies pass through untouched:
// a fresh address in it on every attempt still lands in the one bucket.
func TestTrustedProxies(t *testing.T) {
	limits := limitsFile(t, `{"policies": {"login_failures": {"limit": 2, "window": "15m", "algorithm": "sliding_window_log"}}}`)
	for _, tt := range []struct {
		name      string
		args      []string
		other     int // the status of a second client's login, once the first used up its failures
		forwarded string
		spoofed   string // a header the client writes itself, a new address each time
	}{
		{"trusted", []string{"--trusted-proxies", "10.0.0.0/8,127.0.0.1"}, 401, "X-Forwarded-For", ""},
		{"trusted, a client's own Forwarded beside X-Forwarded-For", []string{"--trusted-proxies", "127.0.0.1"}, 401, "X-Forwarded-For", "Forwarded"},
		{"trusted, Forwarded", []string{"--trusted-proxies", "127.0.0.0/8", "--client-ip-header", "forwarded"}, 401, "Forwarded", ""},
		{"trusted, Forwarded, a client's own X-Forwarded-For beside it", []string{"--trusted-proxies", "127.0.0.0/8", "--client-ip-header", "Forwarded"}, 401, "Forwarded", "X-Forwarded-For"},
		{"not trusted", nil, 429, "X-Forwarded-For", ""},
		{"another range trusted", []string{"--trusted-proxies", "10.0.0.0/8"}, 429, "X-Forwarded-For", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, append([]string{"--rate-limits", limits}, tt.args...)...)
			c := s.client(t)
			c.signup("alice")
			c.token = ""
			n := 0
			value := func(header, addr string) string {
				if header == "Forwarded" {
					return "for=" + addr
				}
				return addr
			}
			from := func(addr string) response {
				h := []string{"Content-Type", "application/json", tt.forwarded, value(tt.forwarded, addr)}
				if tt.spoofed != "" {
					n++
					h = append(h, tt.spoofed, value(tt.spoofed, "203.0.113."+strconv.Itoa(n)))
				}
				return c.do("POST", "/v1/sessions", strings.NewReader(`{"username":"alice","password":"wrong-password"}`), h...)
			}
			for range 2 {
				from("198.51.100.1").problem(t, 401)
			}
			from("198.51.100.1").problem(t, 429)
			if r := from("198.51.100.2"); r.StatusCode != tt.other {
				t.Fatalf("a second client's login: %d, want %d", r.StatusCode, tt.other)
			}
		})
	}
}
