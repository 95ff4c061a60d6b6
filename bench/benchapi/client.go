// Package benchapi is what the load tools ask of a running photofeed: an
// account, an upload, a follow, through the public API, failing loudly.
package benchapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log"
	"mime/multipart"
	"net/http"
	"os"
)

// Boundary is fixed so a load tool can send a body written once.
const Boundary = "photofeedbenchboundary"

// Account signs up name and logs in, returning the bearer token.
func Account(base, name string) string {
	body := fmt.Sprintf(`{"username":%q,"password":"password-%s"}`, name, name)
	Call(base, "POST", "/v1/accounts", "", "application/json", []byte(body), http.StatusCreated)
	var s struct{ Token string }
	json.Unmarshal(Call(base, "POST", "/v1/sessions", "", "application/json", []byte(body), http.StatusCreated), &s)
	return s.Token
}

// Upload posts img with caption and returns the new post's id.
func Upload(base, token, caption string, img []byte) string {
	var p struct{ ID string }
	json.Unmarshal(Call(base, "POST", "/v1/posts", token, "multipart/form-data; boundary="+Boundary, UploadBody(caption, img), http.StatusCreated), &p)
	return p.ID
}

// Follow makes token's user follow name.
func Follow(base, token, name string) {
	Call(base, "PUT", "/v1/me/following/"+name, token, "", nil, http.StatusNoContent)
}

// UploadBody is the multipart body of an upload, with Boundary.
func UploadBody(caption string, img []byte) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.SetBoundary(Boundary)
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(img)
	mw.WriteField("caption", caption)
	mw.Close()
	return b.Bytes()
}

// Photo is a small JPEG that differs with a and p.
func Photo(a, p int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 96, 64))
	for i := range img.Pix {
		img.Pix[i] = uint8(a*31 + p*17 + i%7)
	}
	img.Set(0, 0, color.RGBA{uint8(a), uint8(p), 0, 255})
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	return b.Bytes()
}

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
