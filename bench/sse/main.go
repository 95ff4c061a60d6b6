// Command sse measures the live feed of a running photofeed: it opens one
// stream (GET /v2/feed/stream) for each of -streams readers who follow one
// author, has the author post -posts photos, and reports how long each post
// took to reach every stream, and how many never did. With -metrics (the
// server's /metrics URL) it also reports the server's heap per open stream.
//
// Run the server with --rate-limits off (the readers sign up at once) and
// a file limit above -streams (ulimit -n) on both sides. With -streams
// above --fanout-threshold the author is merged at read time, and the
// posts travel on the celebrity subject instead of the readers' groups.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/photofeed/photofeed/bench/benchapi"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "photofeed base URL")
	streams := flag.Int("streams", 1000, "readers, each with one open stream, all following the author")
	posts := flag.Int("posts", 5, "photos the author posts, one at a time")
	metrics := flag.String("metrics", "", "the server's /metrics URL, to report heap per stream (default: not reported)")
	prefix := flag.String("prefix", "sse", "account name prefix (names must be new on the server)")
	flag.Parse()

	author := *prefix + "_author"
	authorTok := benchapi.Account(*base, author)
	tokens := make([]string, *streams)
	parallel(*streams, 8, func(i int) {
		tokens[i] = benchapi.Account(*base, fmt.Sprintf("%s_r%05d", *prefix, i))
		benchapi.Follow(*base, tokens[i], author)
	})
	log.Printf("%d readers follow %s", *streams, author)

	heapBefore := heap(*metrics)
	arrivals := make(chan arrival, *streams**posts)
	var open sync.WaitGroup
	open.Add(*streams)
	for i, tok := range tokens {
		go listen(*base, tok, i, &open, arrivals)
	}
	open.Wait()
	if heapBefore > 0 {
		perStream := (heap(*metrics) - heapBefore) / float64(*streams)
		log.Printf("server heap per open stream: %.1f KiB", perStream/1024)
	}

	var mu sync.Mutex
	arrived := map[string][]time.Time{}
	go func() {
		for a := range arrivals {
			mu.Lock()
			arrived[a.post] = append(arrived[a.post], a.at)
			mu.Unlock()
		}
	}()
	ready := map[string]time.Time{}
	var order []string
	for p := range *posts {
		id := benchapi.Upload(*base, authorTok, fmt.Sprintf("live %d", p), benchapi.Photo(p, p))
		ready[id] = time.Now() // the answer says the post is ready: it enters feeds from here
		order = append(order, id)
		// One post at a time: wait for its deliveries (or 10 s) before the next.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			n := len(arrived[id])
			mu.Unlock()
			if n >= *streams {
				break
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[string][]time.Duration{}
	for id, times := range arrived {
		for _, at := range times {
			// An event can beat the upload's answer to the client: 0.
			got[id] = append(got[id], max(0, at.Sub(ready[id])))
		}
	}
	report(order, got, *streams)
}

type arrival struct {
	post string
	at   time.Time
}

// listen holds one reader's stream and reports each post event.
func listen(base, token string, i int, open *sync.WaitGroup, out chan<- arrival) {
	req, _ := http.NewRequest("GET", base+"/v2/feed/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		log.Fatalf("stream %d: %v %v", i, err, resp)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	first, err := r.ReadString('\n') // ": stream open": subscribed
	if err != nil || !strings.HasPrefix(first, ":") {
		log.Fatalf("stream %d: first line %q, %v", i, first, err)
	}
	open.Done()
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			return
		}
		if err != nil {
			log.Fatalf("stream %d: %v", i, err)
		}
		if data, ok := strings.CutPrefix(line, `data: {"post_id":"`); ok {
			out <- arrival{post: strings.TrimSuffix(strings.TrimSpace(data), `"}`), at: time.Now()}
		}
	}
}

func report(order []string, got map[string][]time.Duration, streams int) {
	var all []time.Duration
	for _, id := range order {
		d := got[id]
		slices.Sort(d)
		all = append(all, d...)
		fmt.Printf("post %s: reached %d/%d streams, p50 %s p99 %s max %s\n", id, len(d), streams, pct(d, 50), pct(d, 99), pct(d, 100))
	}
	slices.Sort(all)
	fmt.Printf("all: %d deliveries of %d, p50 %s p99 %s max %s\n", len(all), len(order)*streams, pct(all, 50), pct(all, 99), pct(all, 100))
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Millisecond)
}

// heap reads go_memstats_heap_inuse_bytes from a /metrics URL; 0 without one.
func heap(url string) float64 {
	if url == "" {
		return 0
	}
	b := benchapi.Call(url, "GET", "", "", "", nil, http.StatusOK)
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// parallel runs fn(0..n-1), width at a time.
func parallel(n, width int, fn func(int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
