package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/photofeed/photofeed/internal/testenv"
)

// wireGet fetches url as the bytes on the wire: Go's client neither asks
// for gzip on its own nor unpacks it.
func wireGet(t *testing.T, url, token, acceptEncoding string) response {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.ContentLength >= 0 && resp.ContentLength != int64(len(b)) {
		t.Errorf("GET %s: Content-Length %d for %d bytes", url, resp.ContentLength, len(b))
	}
	return response{resp, b}
}

// decoded is r's body unpacked by its Content-Encoding.
func decoded(t *testing.T, r response) []byte {
	t.Helper()
	var zr io.Reader
	switch ce := r.Header.Get("Content-Encoding"); ce {
	case "":
		return r.Body
	case "gzip":
		g, err := gzip.NewReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		zr = g
	case "zstd":
		d, err := zstd.NewReader(bytes.NewReader(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		zr = d
	default:
		t.Fatalf("unexpected Content-Encoding %q", ce)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return b
}

// feedFor makes a reader who follows an author of n posts.
func feedFor(t *testing.T, s *server, n int) (reader *client, posts []post) {
	t.Helper()
	author, reader := s.client(t), s.client(t)
	author.signup("author")
	reader.signup("reader")
	reader.follow("author")
	for i := range n {
		posts = append(posts, author.post(fmt.Sprintf("photo %d of the harbour at dawn, #sea #light", i)))
	}
	// The raw requests below carry no read-your-writes token: wait until
	// every read (a replica's too) sees the whole feed, so that answers
	// compared with one another are of the same page.
	testenv.Eventually(t, "the reader's feed to hold every post", 20*time.Second, func() bool {
		var page struct{ Items []json.RawMessage }
		r := wireGet(t, s.URL+"/v1/feed?limit=20", reader.token, "")
		return r.StatusCode == 200 && json.Unmarshal(r.Body, &page) == nil && len(page.Items) == min(n, 20)
	})
	return reader, posts
}

// The API and the UI answer compressed to clients that ask: the decoded
// body is the plain one; images are sent as they are; the live feed's
// events are not held back (they are not compressed). It logs the feed
// page's sizes.
func TestCompressedAnswers(t *testing.T) {
	s := start(t)
	reader, posts := feedFor(t, s, 10) // ~5.5 KB plain: well over the threshold, and cheap to make
	feed := s.URL + "/v1/feed?limit=20"
	plain := wireGet(t, feed, reader.token, "")
	if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("plain feed: %d %q", plain.StatusCode, plain.Header.Get("Content-Encoding"))
	}
	sizes := map[string]int{}
	for _, tc := range []struct{ accept, want string }{
		{"gzip", "gzip"},
		{"zstd", "zstd"},
		{"gzip, deflate, br, zstd", "zstd"}, // a current browser's offer
		{"gzip;q=1.0, zstd;q=0.5", "gzip"},
		{"identity", ""},
		{"br", ""},
	} {
		r := wireGet(t, feed, reader.token, tc.accept)
		if ce := r.Header.Get("Content-Encoding"); ce != tc.want {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q, want %q", tc.accept, ce, tc.want)
		}
		if v := r.Header.Values("Vary"); !strings.Contains(strings.Join(v, ","), "Accept-Encoding") {
			t.Errorf("Accept-Encoding %q: Vary %q", tc.accept, v)
		}
		if !bytes.Equal(decoded(t, r), plain.Body) {
			t.Errorf("Accept-Encoding %q: decoded body differs from the plain one", tc.accept)
		}
		sizes[tc.want] = len(r.Body)
	}
	t.Logf("GET /v1/feed?limit=20 (%d items): plain %d bytes, gzip %d (%.0f%% saved), zstd %d (%.0f%% saved)",
		len(posts), len(plain.Body), sizes["gzip"], 100-100*float64(sizes["gzip"])/float64(len(plain.Body)),
		sizes["zstd"], 100-100*float64(sizes["zstd"])/float64(len(plain.Body)))

	for _, path := range []string{"/openapi.json", "/explore", "/u/author", "/static/style.css", "/static/live.js"} {
		r := wireGet(t, s.URL+path, "", "gzip")
		if r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s (%d, %s, %d bytes): not compressed", path, r.StatusCode, r.Header.Get("Content-Type"), len(r.Body))
		}
	}
	// Small answers go as they are.
	if r := wireGet(t, s.URL+"/healthz", "", "gzip, zstd"); r.Header.Get("Content-Encoding") != "" {
		t.Errorf("/healthz (%d bytes) compressed", len(decoded(t, r)))
	}
	media := posts[0].Images.Large
	if i := strings.Index(media, "/media/"); i >= 0 {
		media = media[i:]
	}
	if !strings.HasPrefix(media, "/media/") {
		t.Fatalf("no media URL in %+v", posts[0])
	}
	img := wireGet(t, s.URL+media, "", "gzip, zstd")
	if img.StatusCode != 200 || img.Header.Get("Content-Encoding") != "" || !bytes.HasPrefix(img.Body, []byte{0xff, 0xd8}) {
		t.Errorf("media: %d, Content-Encoding %q", img.StatusCode, img.Header.Get("Content-Encoding"))
	}
	if v := img.Header.Values("Vary"); len(v) != 0 {
		t.Errorf("media: Vary %q; an image does not vary by Accept-Encoding", v)
	}

	// The live feed, offered gzip and zstd, is not compressed, and its
	// first bytes come at once, before any post.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v2/feed/stream", nil)
	req.Header.Set("Authorization", "Bearer "+reader.token)
	req.Header.Set("Accept-Encoding", "gzip, zstd")
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ce := resp.Header.Get("Content-Encoding"); resp.StatusCode != 200 || ce != "" {
		t.Fatalf("stream: %d, Content-Encoding %q", resp.StatusCode, ce)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("first line %q, %v; want the opening comment", line, err)
	}
}

// The gateway passes an api node's compressed answer through as it is:
// the same bytes and headers a client gets from the node, neither
// unpacked nor compressed again. Its own GET /v2/home is compressed.
func TestGatewayPassesCompressedAnswers(t *testing.T) {
	api := start(t, "--roles", "api,worker", "--secret", gatewaySecret) // its own node, also in the cluster suite
	gw := startGateway(t, nodeOptions{}, []string{api.URL})
	reader, _ := feedFor(t, api, 8)
	for _, accept := range []string{"gzip", "zstd", ""} {
		direct := wireGet(t, api.URL+"/v1/feed?limit=20", reader.token, accept)
		via := wireGet(t, gw.URL+"/v1/feed?limit=20", reader.token, accept)
		if direct.StatusCode != 200 || via.StatusCode != 200 {
			t.Fatalf("Accept-Encoding %q: direct %d, via the gateway %d %s", accept, direct.StatusCode, via.StatusCode, via.Body)
		}
		if ce := via.Header.Get("Content-Encoding"); ce != accept {
			t.Errorf("Accept-Encoding %q: via the gateway Content-Encoding %q", accept, ce)
		}
		if v := via.Header.Values("Vary"); len(v) != 1 {
			t.Errorf("Accept-Encoding %q: Vary %q", accept, v)
		}
		if !bytes.Equal(direct.Body, via.Body) {
			t.Errorf("Accept-Encoding %q: %d bytes direct, %d via the gateway", accept, len(direct.Body), len(via.Body))
		}
	}
	home := wireGet(t, gw.URL+"/v2/home?limit=20", reader.token, "zstd")
	if home.StatusCode != 200 || home.Header.Get("Content-Encoding") != "zstd" || !bytes.Contains(decoded(t, home), []byte(`"caption"`)) {
		t.Errorf("/v2/home: %d, Content-Encoding %q, %q", home.StatusCode, home.Header.Get("Content-Encoding"), decoded(t, home))
	}
}
