package app_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"image/color"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
)

// multipartBody builds one upload body, so retries send identical bytes.
func multipartBody(t *testing.T, caption string) (string, []byte) {
	return app.UploadForm(app.SampleJPEG(t, 40, 30, color.RGBA{1, 2, 3, 255}), caption)
}

func postCount(t *testing.T, c *client, user string) int {
	var page struct{ Total int }
	c.do("GET", "/v1/users/"+user+"/posts", nil).json(t, &page)
	return page.Total
}

// Ten concurrent retries of one upload create exactly one post; every
// answer is the original, a replay of it, or "still in flight".
func TestIdempotentUploadUnderConcurrentRetries(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.signup("alice")
	ct, body := multipartBody(t, "only once")
	var wg sync.WaitGroup
	results := make(chan response, 10)
	for range 10 {
		wg.Go(func() {
			results <- c.do("POST", "/v1/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"upload-1"`)
		})
	}
	wg.Wait()
	close(results)
	var created, replayed, inFlight int
	var location string
	for r := range results {
		switch {
		case r.StatusCode == 201 && r.Header.Get("Idempotent-Replayed") == "":
			created++
			location = r.Header.Get("Location")
		case r.StatusCode == 201:
			replayed++
		case r.StatusCode == 409:
			inFlight++
			if !strings.Contains(string(r.Body), "idempotency-key-in-use") {
				t.Fatalf("409 body %s", r.Body)
			}
		default:
			t.Fatalf("unexpected answer %d %s", r.StatusCode, r.Body)
		}
	}
	if created != 1 || created+replayed+inFlight != 10 {
		t.Fatalf("created %d, replayed %d, in flight %d", created, replayed, inFlight)
	}
	if n := postCount(t, c, "alice"); n != 1 {
		t.Fatalf("%d posts exist, want 1", n)
	}
	r := c.do("POST", "/v1/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"upload-1"`)
	if r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "true" || r.Header.Get("Location") != location {
		t.Fatalf("replay after success: %d %q %q", r.StatusCode, r.Header.Get("Idempotent-Replayed"), r.Header.Get("Location"))
	}

	// The same key with another body is refused; from another user it is theirs.
	ct2, other := multipartBody(t, "something else")
	c.do("POST", "/v1/posts", bytes.NewReader(other), "Content-Type", ct2, "Idempotency-Key", `"upload-1"`).problem(t, 422)
	bob := s.client(t)
	bob.signup("bob")
	if r := bob.do("POST", "/v1/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"upload-1"`); r.StatusCode != 201 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("bob's upload-1: %d %s", r.StatusCode, r.Body)
	}
	if postCount(t, c, "alice") != 1 || postCount(t, c, "bob") != 1 {
		t.Fatal("keys collided across users")
	}

	// A 4xx answer is the request's result: replayed as it was.
	bad := `{"username":"x","password":"short"}`
	first := c.do("POST", "/v1/accounts", strings.NewReader(bad), "Content-Type", "application/json", "Idempotency-Key", `"acct-1"`)
	first.problem(t, 422)
	again := c.do("POST", "/v1/accounts", strings.NewReader(bad), "Content-Type", "application/json", "Idempotency-Key", `"acct-1"`)
	again.problem(t, 422)
	if again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
		t.Fatalf("replayed error differs: %s vs %s", again.Body, first.Body)
	}

	for _, key := range []string{`""`, `"` + strings.Repeat("k", 256) + `"`, `"unterminated`, `two words`} {
		c.do("POST", "/v1/accounts", strings.NewReader(bad), "Content-Type", "application/json", "Idempotency-Key", key).problem(t, 400)
	}
}

// rebuiltUpload is one upload as a client sends it on every try: the same
// photo and caption in a freshly built body with a new boundary.
func rebuiltUpload(photo []byte, caption string) (string, []byte) {
	return app.UploadForm(photo, caption)
}

// A retried upload is recognised by its meaning, not its bytes: rebuilt
// bodies with the same photo and caption get the first answer back.
func TestIdempotentUploadWithRebuiltBodies(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.signup("alice")
	photo := app.SampleJPEG(t, 40, 30, color.RGBA{9, 8, 7, 255})

	ct, body := rebuiltUpload(photo, "retried")
	first := c.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"retry-1"`)
	if first.StatusCode != 201 {
		t.Fatalf("first: %d %s", first.StatusCode, first.Body)
	}
	ct, body = rebuiltUpload(photo, "retried")
	again := c.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"retry-1"`)
	if again.StatusCode != 201 || again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Fatalf("retry with a rebuilt body: %d %q %s", again.StatusCode, again.Header.Get("Idempotent-Replayed"), again.Body)
	}
	ct, body = rebuiltUpload(photo, "another caption")
	c.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"retry-1"`).problem(t, 422)

	// Six concurrent sends of one key, each body built anew.
	results := make(chan response, 6)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			ct, body := rebuiltUpload(photo, "concurrent")
			results <- c.do("POST", "/v2/posts", bytes.NewReader(body), "Content-Type", ct, "Idempotency-Key", `"retry-2"`)
		})
	}
	wg.Wait()
	close(results)
	var created, replayed, inUse int
	for r := range results {
		switch {
		case r.StatusCode == 201 && r.Header.Get("Idempotent-Replayed") == "":
			created++
		case r.StatusCode == 201:
			replayed++
		case r.StatusCode == 409 && strings.Contains(string(r.Body), "idempotency-key-in-use"):
			inUse++
		default:
			t.Fatalf("unexpected answer %d %s", r.StatusCode, r.Body)
		}
	}
	t.Logf("6 concurrent rebuilt sends of one key: %d created, %d replayed, %d in use", created, replayed, inUse)
	if created != 1 {
		t.Fatalf("%d created, want 1", created)
	}
	if n := postCount(t, c, "alice"); n != 2 {
		t.Fatalf("%d posts exist, want 2", n)
	}
}

// endless is an allocation-free body source.
type endless struct{}

func (endless) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 'x'
	}
	return len(b), nil
}

// Keyed uploads are checked for a login and for the route's size limit
// before their body is read: parallel anonymous 20 MB keyed POSTs are
// answered 401 without the server holding their bodies, and a body over
// the limit is 413.
func TestKeyedBodiesAreReadOnlyAfterAuthAndLimit(t *testing.T) {
	s := start(t)

	// The body's first MiB, then nothing until the answer came: a server
	// that reads the body before checking the login never answers.
	release := make(chan struct{})
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/v2/posts",
		io.MultiReader(io.LimitReader(endless{}, 1<<20), held(release), io.LimitReader(endless{}, 19<<20)))
	req.ContentLength = 20 << 20
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("Idempotency-Key", `"anon"`)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case code := <-answered:
		close(release)
		if code != 401 {
			t.Fatalf("anonymous keyed upload: %d, want 401", code)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("an anonymous keyed upload was not answered before its whole body was sent")
	}

	const parallel, size = 12, 20 << 20
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rss := watchRSS(t)
	var wg sync.WaitGroup
	var refused, dropped atomic.Int32
	for i := range parallel {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", s.URL+"/v2/posts", io.LimitReader(endless{}, size))
			req.ContentLength = size
			req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			req.Header.Set("Idempotency-Key", fmt.Sprintf(`"anon-%d"`, i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil { // the server answered and closed before the body was sent
				dropped.Add(1)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("anonymous keyed upload: %d", resp.StatusCode)
			}
			refused.Add(1)
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d parallel anonymous keyed %d MiB POSTs: %d answered 401, %d cut off by the server; %.1f MiB allocated in all, peak RSS %d MiB above the start",
		parallel, size>>20, refused.Load(), dropped.Load(), float64(allocated)/(1<<20), rss.growth()>>20)
	if bound := uint64(parallel << 20); allocated > bound { // 1 MiB a request: client and server buffers
		t.Fatalf("allocated %d MiB, over the bound of %d MiB", allocated>>20, bound>>20)
	}

	c := s.client(t)
	c.signup("alice")
	for _, declared := range []bool{true, false} {
		req, _ := http.NewRequest("POST", s.URL+"/v2/posts", io.LimitReader(endless{}, 40<<20))
		if declared {
			req.ContentLength = 40 << 20
		}
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.Header.Set("Idempotency-Key", fmt.Sprintf(`"big-%v"`, declared))
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Logf("over-limit upload (declared length %v) cut off: %v", declared, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("over-limit keyed upload (declared length %v): %d", declared, resp.StatusCode)
		}
	}
}

// A keyed login is run again on retry, and its token (or password) never
// lands in the idempotency table.
func TestKeyedLoginStoresNoCredentials(t *testing.T) {
	s := start(t)
	if s.DB != "" {
		t.Skip("reads the SQLite file")
	}
	c := s.client(t)
	account := `{"username":"alice","password":"password-alice","display_name":"A"}`
	c.do("POST", "/v2/accounts", strings.NewReader(account), "Content-Type", "application/json", "Idempotency-Key", `"acct"`)
	login := `{"username":"alice","password":"password-alice"}`
	var tokens []string
	for range 2 {
		r := c.do("POST", "/v2/sessions", strings.NewReader(login), "Content-Type", "application/json", "Idempotency-Key", `"login"`)
		var sess struct{ Token string }
		r.json(t, &sess)
		if r.StatusCode != 201 || sess.Token == "" || r.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("keyed login: %d %v %s", r.StatusCode, r.Header, r.Body)
		}
		tokens = append(tokens, sess.Token)
	}
	if tokens[0] == tokens[1] {
		t.Fatal("a retried login was replayed, not run again")
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.DataDir, "photofeed.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT key, fingerprint, state, resource, coalesce(status, 0), coalesce(header, ''), coalesce(body, x'') FROM idempotency_keys`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var table strings.Builder
	n := 0
	for rows.Next() {
		var key, fp, state, resource, header string
		var status int
		var body []byte
		if err := rows.Scan(&key, &fp, &state, &resource, &status, &header, &body); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&table, "%s | %s | %s | %s | %d | %s | %s\n", key, fp, state, resource, status, header, body)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("idempotency table after a keyed signup and two keyed logins (%d rows):\n%s", n, table.String())
	for _, secret := range append(tokens, "password-alice", `"login"`, " login") {
		if strings.Contains(table.String(), secret) {
			t.Errorf("the idempotency table holds %q", secret)
		}
	}
	if n != 1 {
		t.Errorf("%d rows, want the signup's only", n)
	}
}

// held is a body part that blocks until release is closed.
type held chan struct{}

func (h held) Read([]byte) (int, error) {
	<-h
	return 0, io.EOF
}

// rssWatch measures the process's peak RSS from when it was made.
type rssWatch struct {
	t     *testing.T
	start int64
}

func watchRSS(t *testing.T) rssWatch { return rssWatch{t, rssBaseline(t)} }

func (w rssWatch) growth() int64 { return max(0, procStatus(w.t, "VmHWM")-w.start) }
