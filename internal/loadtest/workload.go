package loadtest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
)

// Request is one request of the load, built before its send time so
// that building it is not part of its latency.
type Request struct {
	Op  Op
	Req *http.Request
}

// Generator makes the next request; it is called from one goroutine at
// a time.
type Generator func() (Request, error)

// Workload draws requests of mix over accounts, with a fixed seed so a
// run can be repeated.
func Workload(base string, mix Mix, a Accounts, seed uint64) (Generator, error) {
	if len(a.Users) == 0 {
		return nil, fmt.Errorf("workload: no users")
	}
	if mix.Has(OpLike) && len(a.Posts) == 0 {
		return nil, fmt.Errorf("workload: likes need posts, and the accounts have none")
	}
	r := rand.New(rand.NewPCG(seed, 7))
	total := mix.total()
	body := UploadBody("#loadtest upload", Photo(7, 7))
	return func() (Request, error) {
		u := a.Users[r.IntN(len(a.Users))]
		op := mix.pick(r.IntN(total))
		var method, path string
		var payload []byte
		switch op {
		case OpFeed:
			method, path = "GET", "/v1/feed?limit=20"
		case OpLike:
			method, path = "PUT", "/v1/posts/"+a.Posts[r.IntN(len(a.Posts))]+"/like"
			if r.IntN(2) == 0 {
				method = "DELETE"
			}
		case OpProfile:
			method, path = "GET", "/v1/users/"+a.Users[r.IntN(len(a.Users))].Username
		case OpUpload:
			method, path, payload = "POST", "/v1/posts", body
		}
		req, err := http.NewRequest(method, base+path, bytes.NewReader(payload))
		if err != nil {
			return Request{}, fmt.Errorf("workload: %w", err)
		}
		if payload == nil {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+Boundary)
		}
		req.Header.Set("Authorization", "Bearer "+u.Token)
		return Request{Op: op, Req: req}, nil
	}, nil
}
