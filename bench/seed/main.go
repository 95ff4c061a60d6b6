// Command seed fills a running photofeed through its public API for
// benchmarks: one reader who follows -authors authors of -posts photos each.
// It prints the reader's bearer token.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
	"sync"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "photofeed base URL")
	authors := flag.Int("authors", 50, "authors the reader follows")
	posts := flag.Int("posts", 10, "photos per author")
	sample := flag.String("photo", "", "also write a sample upload body (multipart/form-data, boundary "+boundary+") to this file, for load tests")
	flag.Parse()
	if *sample != "" {
		if err := os.WriteFile(*sample, uploadBody("#bench upload", photo(7, 7)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	reader := account(*base, "reader")
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for a := range *authors {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("author_%03d", a)
			tok := account(*base, name)
			for p := range *posts {
				upload(*base, tok, fmt.Sprintf("photo %d of %s #bench", p, name), photo(a, p))
			}
			call(*base, "PUT", "/v1/me/following/"+name, reader, "", nil, http.StatusNoContent)
		})
	}
	wg.Wait()
	fmt.Println(reader)
}

func account(base, name string) string {
	body := fmt.Sprintf(`{"username":%q,"password":"password-%s"}`, name, name)
	call(base, "POST", "/v1/accounts", "", "application/json", []byte(body), http.StatusCreated)
	var s struct{ Token string }
	json.Unmarshal(call(base, "POST", "/v1/sessions", "", "application/json", []byte(body), http.StatusCreated), &s)
	return s.Token
}

// boundary is fixed so a load tool can send a body written once.
const boundary = "photofeedbenchboundary"

func upload(base, token, caption string, img []byte) {
	call(base, "POST", "/v1/posts", token, "multipart/form-data; boundary="+boundary, uploadBody(caption, img), http.StatusCreated)
}

func uploadBody(caption string, img []byte) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.SetBoundary(boundary)
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(img)
	mw.WriteField("caption", caption)
	mw.Close()
	return b.Bytes()
}

func photo(a, p int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(a*31 + p*17 + i%7)
	}
	img.Set(0, 0, color.RGBA{uint8(a), uint8(p), 0, 255})
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	return b.Bytes()
}

func call(base, method, path, token, ct string, body []byte, want int) []byte {
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
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
