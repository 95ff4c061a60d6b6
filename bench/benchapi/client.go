// Package benchapi is what the load tools ask of a running photofeed: an
// account, an upload, a follow, through the public API, failing loudly.
// The requests themselves are internal/loadtest's, which photofeed
// loadtest seeds with.
package benchapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"

	"github.com/photofeed/photofeed/internal/loadtest"
)

// Boundary is fixed so a load tool can send a body written once.
const Boundary = loadtest.Boundary

func client(base string) *loadtest.Client { return &loadtest.Client{Base: base} }

// Account signs up name and logs in, returning the bearer token.
func Account(base, name string) string {
	ctx, pw := context.Background(), "password-"+name
	if err := client(base).SignUp(ctx, name, pw); err != nil {
		log.Fatal(err)
	}
	tok, err := client(base).Login(ctx, name, pw)
	if err != nil {
		log.Fatal(err)
	}
	return tok
}

// Upload posts img with caption and returns the new post's id.
func Upload(base, token, caption string, img []byte) string {
	id, err := client(base).Upload(context.Background(), token, caption, img)
	if err != nil {
		log.Fatal(err)
	}
	return id
}

// Follow makes token's user follow name.
func Follow(base, token, name string) {
	if err := client(base).Follow(context.Background(), token, name); err != nil {
		log.Fatal(err)
	}
}

// UploadBody is the multipart body of an upload, with Boundary.
func UploadBody(caption string, img []byte) []byte { return loadtest.UploadBody(caption, img) }

// Photo is a small JPEG that differs with a and p.
func Photo(a, p int) []byte { return loadtest.Photo(a, p) }

// Call sends one request and exits the program unless it is answered
// with want.
func Call(base, method, path, token, ct string, body []byte, want int) []byte {
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		fmt.Fprintf(os.Stderr, "%s %s: %d %s\n", method, path, resp.StatusCode, out)
		os.Exit(1)
	}
	return out
}
