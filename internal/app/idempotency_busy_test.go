package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// A keyed signup refused 503 because the password-hash budget is full is
// not answered 503 again for the key's lifetime: its retry with the same
// key runs and creates the account. The budget is one slow hash at a time,
// so most of a burst waits out its 2 s and is refused (through the
// gateway, on every api node it tries).
func TestKeyedSignupRefusedBusyRunsAgain(t *testing.T) {
	s := start(t, "--argon2-memory", "8192", "--argon2-time", "40", "--hash-memory", "8MiB")
	signup := func(i int) (*http.Response, string) {
		r, _ := http.NewRequest("POST", s.URL+"/v1/accounts",
			strings.NewReader(fmt.Sprintf(`{"username":"busy%d","password":"long-enough-password"}`, i)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", fmt.Sprintf(`"signup-%d"`, i))
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	n := 16
	if clusterMode() {
		// The gateway retries a keyed 503 on the other api nodes, each
		// with a hash budget of its own: the burst must fill them all.
		n *= clusterAPINodes
	}
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, _ := signup(i)
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	var busy []int
	for i, c := range codes {
		switch c {
		case http.StatusCreated:
		case http.StatusServiceUnavailable:
			busy = append(busy, i)
		default:
			t.Fatalf("signup %d: %d", i, c)
		}
	}
	t.Logf("%d parallel keyed signups, one hash at a time: %d created, %d refused 503", n, n-len(busy), len(busy))
	if len(busy) == 0 {
		t.Fatal("no signup was refused busy: the hash is too fast for this test to mean anything")
	}
	for _, i := range busy {
		resp, body := signup(i)
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry of signup %d refused 503: %d, replayed %q: %s", i, resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), body)
		}
	}
}
