// Command mixed puts a running photofeed under the mixed load its
// benchmarks quote, and prints each kind of request's latency:
//
//	-users accounts, each posting -posts photos and following -follows
//	others (drawn with a fixed seed), then for -duration, -c concurrent
//	clients: 90 % home-feed reads of a random user, 9 % like or unlike of
//	a random post, 1 % profile reads.
//
// It prints one line: requests per second and p50/p99 per kind, in ms.
// With -seed-only it sets the data up and stops; with -load-only it
// expects data from an earlier -seed-only run (the tokens are in -state).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/photofeed/photofeed/bench/benchapi"
)

type state struct {
	Users  []string // names
	Tokens []string
	Posts  []string // ids
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "photofeed base URL")
	users := flag.Int("users", 200, "accounts")
	posts := flag.Int("posts", 5, "photos per account")
	follows := flag.Int("follows", 20, "accounts each one follows")
	conns := flag.Int("c", 16, "concurrent clients")
	duration := flag.Duration("duration", 10*time.Second, "how long to load")
	warmup := flag.Duration("warmup", 2*time.Second, "load before measuring")
	stateFile := flag.String("state", "", "file keeping the seeded accounts between -seed-only and -load-only")
	seedOnly := flag.Bool("seed-only", false, "seed, write -state, stop")
	loadOnly := flag.Bool("load-only", false, "load the accounts in -state")
	flag.Parse()

	var st state
	if *loadOnly {
		raw, err := os.ReadFile(*stateFile)
		if err != nil {
			log.Fatal(err)
		}
		if err := json.Unmarshal(raw, &st); err != nil {
			log.Fatal(err)
		}
	} else {
		st = seed(*base, *users, *posts, *follows)
		if *stateFile != "" {
			raw, _ := json.Marshal(st)
			if err := os.WriteFile(*stateFile, raw, 0o600); err != nil {
				log.Fatal(err)
			}
		}
	}
	if *seedOnly {
		return
	}
	run(*base, st, *conns, *warmup)
	lat, total := run(*base, st, *conns, *duration)
	fmt.Printf("rps %.0f", float64(total)/duration.Seconds())
	for _, k := range []string{"feed", "like", "profile"} {
		fmt.Printf("  %s p50 %.2f p99 %.2f", k, ms(pct(lat[k], 50)), ms(pct(lat[k], 99)))
	}
	fmt.Println()
}

// seed makes the accounts, their photos and their follows.
func seed(base string, users, posts, follows int) state {
	st := state{Users: make([]string, users), Tokens: make([]string, users)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for u := range users {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("mixed_%04d", u)
			tok := benchapi.Account(base, name)
			st.Users[u], st.Tokens[u] = name, tok
			for p := range posts {
				id := benchapi.Upload(base, tok, fmt.Sprintf("photo %d of %s #mixed", p, name), benchapi.Photo(u, p))
				mu.Lock()
				st.Posts = append(st.Posts, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	r := rand.New(rand.NewPCG(1, 2))
	for u := range users {
		for _, f := range r.Perm(users)[:min(follows+1, users)] {
			if f != u && follows > 0 {
				benchapi.Follow(base, st.Tokens[u], st.Users[f])
			}
		}
	}
	return st
}

// run loads for d and returns the latencies by kind and the count.
func run(base string, st state, conns int, d time.Duration) (map[string][]time.Duration, int) {
	// Plain answers, as before compression was served: Go's transport
	// would otherwise ask for gzip, and the figures would then include
	// compressing and unpacking on the same cores.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}
	deadline := time.Now().Add(d)
	lat := map[string][]time.Duration{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			mine := map[string][]time.Duration{}
			for time.Now().Before(deadline) {
				kind, req := pick(base, st, r)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					log.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					log.Fatalf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
				}
				mine[kind] = append(mine[kind], time.Since(start))
			}
			mu.Lock()
			for k, v := range mine {
				lat[k] = append(lat[k], v...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	total := 0
	for _, v := range lat {
		total += len(v)
	}
	return lat, total
}

// pick draws the next request of the mix.
func pick(base string, st state, r *rand.Rand) (string, *http.Request) {
	u := r.IntN(len(st.Users))
	var kind, method, path string
	switch n := r.IntN(100); {
	case n < 90:
		kind, method, path = "feed", "GET", "/v1/feed?limit=20"
	case n < 99:
		kind, method, path = "like", "PUT", "/v1/posts/"+st.Posts[r.IntN(len(st.Posts))]+"/like"
		if n%2 == 0 {
			method = "DELETE"
		}
	default:
		kind, method, path = "profile", "GET", "/v1/users/"+st.Users[r.IntN(len(st.Users))]
	}
	req, _ := http.NewRequest(method, base+path, nil)
	req.Header.Set("Authorization", "Bearer "+st.Tokens[u])
	return kind, req
}

func pct(v []time.Duration, p int) time.Duration {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[(len(v)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
