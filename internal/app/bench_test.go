package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchNode is a full photofeed handler seeded with a reader who follows
// 50 authors of 10 photos each.
func benchNode(b *testing.B) (*node, string) {
	n := newTestNode(b)

	call := func(method, path, token, ct string, body []byte, want int) []byte {
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		n.handler.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	login := func(name string) string {
		body := []byte(fmt.Sprintf(`{"username":%q,"password":"password-%s"}`, name, name))
		call("POST", "/v1/accounts", "", "application/json", body, 201)
		var s struct{ Token string }
		json.Unmarshal(call("POST", "/v1/sessions", "", "application/json", body, 201), &s)
		return s.Token
	}
	reader := login("reader")
	for a := range 50 {
		name := fmt.Sprintf("author_%02d", a)
		tok := login(name)
		for p := range 10 {
			ct, body := UploadForm(SampleJPEG(b, 32, 32, color.RGBA{uint8(a), uint8(p), 0, 255}), fmt.Sprintf("photo %d by %s", p, name))
			call("POST", "/v1/posts", tok, ct, body, 201)
		}
		call("PUT", "/v1/me/following/"+name, reader, "", nil, 204)
	}
	return n, reader
}

// BenchmarkFeedHandler is GET /v1/feed?limit=20 through the whole handler
// stack (request id, auth, routing, store, JSON), without the network.
func BenchmarkFeedHandler(b *testing.B) {
	n, token := benchNode(b)
	req := httptest.NewRequest("GET", "/v1/feed?limit=20", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		n.handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
