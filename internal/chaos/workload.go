package chaos

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/photofeed/photofeed/internal/progress"
)

// The operation mix: ten reads to a write, as the capacity plan's
// default read-write ratio, the writes split between likes, follows and
// uploads (the costliest: a thumbnail job each).
var mix = []struct {
	op     string
	weight int
}{
	{"feed", 50}, {"post", 23}, {"profile", 18}, // reads: 91
	{"like", 4}, {"follow", 3}, {"upload", 2}, // writes: 9
}

type user struct {
	name, token string
}

// ackedPost is an upload the API acknowledged (201).
type ackedPost struct {
	Key, Author, ID string
}

// ackedEdge is a like or a follow the API acknowledged, and when.
type ackedEdge struct {
	From, To string
	At       time.Time
}

// workload is the run's clients and what they were told.
type workload struct {
	cfg    Config
	caller *caller
	users  []user
	live   *liveStats

	mu       sync.Mutex
	outcomes []outcome
	posts    []ackedPost
	likes    []ackedEdge
	follows  []ackedEdge
	postIDs  []string // for reads and likes
}

func newWorkload(cfg Config) *workload {
	return &workload{cfg: cfg, caller: newCaller(strings.TrimRight(cfg.Entry, "/"), cfg.Patience),
		live: &liveStats{}}
}

// setup makes the users (three per client) and a first post each,
// before the clock starts: not counted, but audited.
func (w *workload) setup(ctx context.Context) error {
	n := 3 * w.cfg.Clients
	for i := range n {
		name := fmt.Sprintf("chaos_%d_%d", w.cfg.Seed, i)
		body := fmt.Sprintf(`{"username":%q,"password":"password-%s","display_name":%q}`, name, name, name)
		o := w.caller.do(ctx, request{op: "signup", method: "POST", path: "/v1/accounts",
			contentType: "application/json", body: []byte(body), key: "signup-" + name, want: http.StatusCreated})
		if !o.ok && !(o.status == http.StatusConflict && strings.Contains(string(o.body), "taken")) {
			return fmt.Errorf("sign up %s: %d %s", name, o.status, truncate(o.body))
		}
		o = w.caller.do(ctx, request{op: "login", method: "POST", path: "/v1/sessions",
			contentType: "application/json", body: []byte(fmt.Sprintf(`{"username":%q,"password":"password-%s"}`, name, name)), want: http.StatusCreated})
		if !o.ok {
			return fmt.Errorf("log in %s: %d %s", name, o.status, truncate(o.body))
		}
		var s struct{ Token string }
		if err := o.decode(&s); err != nil {
			return err
		}
		w.users = append(w.users, user{name: name, token: s.Token})
	}
	rng := rand.New(rand.NewPCG(uint64(w.cfg.Seed), 0xbeef))
	for i := range w.users {
		if o := w.upload(ctx, rng, i, fmt.Sprintf("chaos-%d-setup-%d", w.cfg.Seed, i)); !o.ok {
			return fmt.Errorf("first post of %s: %d %s", w.users[i].name, o.status, truncate(o.body))
		}
	}
	return nil
}

// drive runs the clients until the duration has passed.
func (w *workload) drive(ctx context.Context, start time.Time) {
	end := start.Add(w.cfg.Duration)
	interval := time.Duration(float64(w.cfg.Clients) / w.cfg.Rate * float64(time.Second))
	var wg sync.WaitGroup
	for c := range w.cfg.Clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w.cfg.Seed), uint64(c+1)))
			next := time.Now()
			for n := 0; ; n++ {
				next = next.Add(interval)
				if !next.Before(end) || ctx.Err() != nil {
					return
				}
				w.record(w.one(ctx, rng, c, n))
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
			}
		})
	}
	wg.Wait()
}

// one picks an operation and runs it.
func (w *workload) one(ctx context.Context, rng *rand.Rand, client, n int) outcome {
	pick := rng.IntN(100)
	op := mix[len(mix)-1].op
	for _, m := range mix {
		if pick < m.weight {
			op = m.op
			break
		}
		pick -= m.weight
	}
	u := rng.IntN(len(w.users))
	me := w.users[u]
	switch op {
	case "feed":
		return w.caller.do(ctx, request{op: op, method: "GET", path: "/v1/feed", token: me.token, want: 200})
	case "post":
		return w.caller.do(ctx, request{op: op, method: "GET", path: "/v1/posts/" + w.somePost(rng), token: me.token, want: 200})
	case "profile":
		other := w.users[rng.IntN(len(w.users))].name
		return w.caller.do(ctx, request{op: op, method: "GET", path: "/v1/users/" + other + "/posts", want: 200})
	case "like":
		id := w.somePost(rng)
		o := w.caller.do(ctx, request{op: op, method: "PUT", path: "/v1/posts/" + id + "/like", token: me.token, want: 204})
		if o.ok {
			w.mu.Lock()
			w.likes = append(w.likes, ackedEdge{From: me.name, To: id, At: time.Now()})
			w.mu.Unlock()
		}
		return o
	case "follow":
		other := w.users[rng.IntN(len(w.users))].name
		if other == me.name {
			other = w.users[(u+1)%len(w.users)].name
		}
		o := w.caller.do(ctx, request{op: op, method: "PUT", path: "/v1/me/following/" + other, token: me.token, want: 204})
		if o.ok {
			w.mu.Lock()
			w.follows = append(w.follows, ackedEdge{From: me.name, To: other, At: time.Now()})
			w.mu.Unlock()
		}
		return o
	default:
		return w.upload(ctx, rng, u, fmt.Sprintf("chaos-%d-%d-%d", w.cfg.Seed, client, n))
	}
}

// upload posts a small photo captioned with its Idempotency-Key, so the
// audit can count the posts each key made.
func (w *workload) upload(ctx context.Context, rng *rand.Rand, u int, key string) outcome {
	ct, body := uploadForm(rng, key)
	o := w.caller.do(ctx, request{op: "upload", method: "POST", path: "/v1/posts", token: w.users[u].token,
		contentType: ct, body: body, key: key, want: 201})
	if o.ok {
		var p struct{ ID string }
		if err := o.decode(&p); err == nil && p.ID != "" {
			w.mu.Lock()
			w.posts = append(w.posts, ackedPost{Key: key, Author: w.users[u].name, ID: p.ID})
			w.postIDs = append(w.postIDs, p.ID)
			w.mu.Unlock()
		}
	}
	return o
}

func (w *workload) somePost(rng *rand.Rand) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.postIDs[rng.IntN(len(w.postIDs))]
}

func (w *workload) record(o outcome) {
	w.mu.Lock()
	w.outcomes = append(w.outcomes, o)
	w.mu.Unlock()
	w.live.add(o)
}

// uploadForm is a multipart body with a 64×48 JPEG of a colour the rng
// picks (each photo differs) and the caption.
func uploadForm(rng *rand.Rand, caption string) (string, []byte) {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	c := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
	for y := range 48 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{c.R + uint8(x), c.G + uint8(y), c.B, 255})
		}
	}
	var photo bytes.Buffer
	jpeg.Encode(&photo, img, nil)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("caption", caption)
	fw, _ := mw.CreateFormFile("photo", "chaos.jpg")
	fw.Write(photo.Bytes())
	mw.Close()
	return mw.FormDataContentType(), body.Bytes()
}

// liveStats are the counts the progress line shows.
type liveStats struct {
	ops, failed atomic.Int64
}

func (l *liveStats) add(o outcome) {
	l.ops.Add(1)
	if !o.ok {
		l.failed.Add(1)
	}
}

// progress prints a line every five seconds until the returned func is
// called.
func (w *workload) progress(ctx context.Context, start time.Time, p *plan) func() {
	if w.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	// On a terminal a bar over the run's seconds, redrawn each second;
	// elsewhere a line every five.
	every := 5 * time.Second
	var meter *progress.Meter
	if progress.Terminal(w.cfg.Progress) {
		every = time.Second
		meter = progress.New(w.cfg.Progress, true, "chaos, seconds", int64(w.cfg.Duration/time.Second))
	}
	go func() {
		defer close(stopped)
		if meter != nil {
			defer meter.Done()
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			ops, failed := w.live.ops.Load(), w.live.failed.Load()
			ratio := 1.0
			if ops > 0 {
				ratio = float64(ops-failed) / float64(ops)
			}
			if meter != nil {
				meter.Note(fmt.Sprintf("ops %d  ok %.3f%%  faults in flight: %s", ops, 100*ratio, p.inFlight()))
				meter.Set(int64(time.Since(start) / time.Second))
				continue
			}
			fmt.Fprintf(w.cfg.Progress, "chaos %3.0fs/%s  ops %d  ok %.3f%%  faults in flight: %s\n",
				time.Since(start).Seconds(), w.cfg.Duration, ops, 100*ratio, p.inFlight())
		}
	}()
	return func() { close(done); <-stopped }
}
