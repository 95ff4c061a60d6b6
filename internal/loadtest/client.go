package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
)

// Boundary is fixed so a load tool can send an upload body written once.
const Boundary = "photofeedbenchboundary"

// Client is what seeding asks of a running photofeed, through the public
// API only, so that it works on any deployment.
type Client struct {
	Base string
	HTTP *http.Client
}

// SignUp creates the account name with password.
func (c *Client) SignUp(ctx context.Context, name, password string) error {
	_, err := c.call(ctx, "POST", "/v1/accounts", "", "application/json", credentials(name, password), http.StatusCreated)
	return err
}

// Login opens a session for name and returns its bearer token.
func (c *Client) Login(ctx context.Context, name, password string) (string, error) {
	out, err := c.call(ctx, "POST", "/v1/sessions", "", "application/json", credentials(name, password), http.StatusCreated)
	if err != nil {
		return "", err
	}
	var s struct{ Token string }
	if err := json.Unmarshal(out, &s); err != nil || s.Token == "" {
		return "", fmt.Errorf("login %s: no token in %.100q", name, out)
	}
	return s.Token, nil
}

// Upload posts img with caption and returns the new post's id.
func (c *Client) Upload(ctx context.Context, token, caption string, img []byte) (string, error) {
	out, err := c.call(ctx, "POST", "/v1/posts", token, "multipart/form-data; boundary="+Boundary, UploadBody(caption, img), http.StatusCreated)
	if err != nil {
		return "", err
	}
	var p struct{ ID string }
	if err := json.Unmarshal(out, &p); err != nil || p.ID == "" {
		return "", fmt.Errorf("upload: no post id in %.100q", out)
	}
	return p.ID, nil
}

// Follow makes token's user follow name.
func (c *Client) Follow(ctx context.Context, token, name string) error {
	_, err := c.call(ctx, "PUT", "/v1/me/following/"+name, token, "", nil, http.StatusNoContent)
	return err
}

// PostsOf returns the ids of name's latest posts (one page).
func (c *Client) PostsOf(ctx context.Context, name string) ([]string, error) {
	out, err := c.call(ctx, "GET", "/v1/users/"+name+"/posts?limit=20", "", "", nil, http.StatusOK)
	if err != nil {
		return nil, err
	}
	var page struct{ Items []struct{ ID string } }
	if err := json.Unmarshal(out, &page); err != nil {
		return nil, fmt.Errorf("posts of %s: %w", name, err)
	}
	ids := make([]string, 0, len(page.Items))
	for _, p := range page.Items {
		ids = append(ids, p.ID)
	}
	return ids, nil
}

func credentials(name, password string) []byte {
	b, _ := json.Marshal(map[string]string{"username": name, "password": password})
	return b
}

// call sends one request and fails unless it is answered with want.
func (c *Client) call(ctx context.Context, method, path, token, ct string, body []byte, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %.200s", method, path, resp.StatusCode, bytes.TrimSpace(out))
	}
	return out, nil
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

// Photo is a small JPEG that differs with a and p, so uploads are not
// all the same bytes.
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
