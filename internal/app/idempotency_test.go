package app_test

import (
	"bytes"
	"image/color"
	"mime/multipart"
	"strings"
	"sync"
	"testing"
)

// multipartBody builds one upload body, so retries send identical bytes.
func multipartBody(t *testing.T, caption string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.SetBoundary("fixed-boundary-for-retries")
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(testJPEG(t, 40, 30, color.RGBA{1, 2, 3, 255}))
	mw.WriteField("caption", caption)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
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

	// An error answer is replayed as it was.
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
