package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/photofeed/photofeed/internal/progress"
)

// Load is how one run sends its requests.
type Load struct {
	Rate        float64 // requests/s at fixed intervals (open loop); 0: closed loop
	Connections int     // closed loop: clients
	MaxInflight int     // open loop: requests in flight at once
	Duration    time.Duration
	MaxRequests int64 // 0: no limit
	Client      *http.Client
	Progress    io.Writer // a line a second; nil: none
	TTY         bool      // Progress is a terminal: rewrite one line
	Label       string    // starts each progress line
}

// NewHTTPClient is the client a load sends with. Answers come plain, as
// in bench/mixed: Go's transport would otherwise ask for gzip, and the
// figures would then include compressing and unpacking on the same
// cores.
func NewHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			DisableCompression:  true,
		},
	}
}

// Run sends gen's requests as l says and returns what was measured.
// In the open loop each request has an intended send time, start +
// i/rate, whatever became of the ones before; its latency runs from that
// time, so a stall that delays sending is counted against the requests
// it delayed instead of hidden (coordinated omission).
func (l Load) Run(ctx context.Context, gen Generator) (*Result, error) {
	rec := newRecorder()
	start := time.Now()
	stopProgress := l.progress(rec, start)
	var err error
	if l.Rate > 0 {
		err = l.openLoop(ctx, gen, rec, start)
	} else {
		err = l.closedLoop(ctx, gen, rec, start)
	}
	elapsed := time.Since(start)
	stopProgress()
	if err != nil {
		return nil, err
	}
	res := newResult(rec, elapsed)
	// Stopped early (an interrupt): what was measured until then is
	// still worth printing, marked as such.
	res.Interrupted = ctx.Err() != nil
	res.Rate, res.Connections = l.Rate, l.Connections
	res.Mode = "closed"
	if l.Rate > 0 {
		res.Mode, res.Connections = "open", 0
	}
	return res, nil
}

func (l Load) openLoop(ctx context.Context, gen Generator, rec *recorder, start time.Time) error {
	sem := make(chan struct{}, l.MaxInflight)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); l.MaxRequests == 0 || i < l.MaxRequests; i++ {
		offset := time.Duration(float64(i) * float64(time.Second) / l.Rate)
		if offset >= l.Duration {
			break
		}
		intended := start.Add(offset)
		r, err := gen()
		if err != nil {
			return err
		}
		if wait := time.Until(intended); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil
			}
		}
		// A full window holds the schedule back but not the intended
		// times: the wait shows in the latencies.
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rec.sent(time.Since(intended))
			l.send(ctx, r, intended, rec)
		})
	}
	return nil
}

func (l Load) closedLoop(ctx context.Context, gen Generator, rec *recorder, start time.Time) error {
	deadline := start.Add(l.Duration)
	var (
		mu     sync.Mutex // gen is called by one client at a time
		sent   atomic.Int64
		genErr error
		wg     sync.WaitGroup
	)
	next := func() (Request, bool) {
		mu.Lock()
		defer mu.Unlock()
		if genErr != nil || ctx.Err() != nil || !time.Now().Before(deadline) {
			return Request{}, false
		}
		if l.MaxRequests > 0 && sent.Add(1) > l.MaxRequests {
			return Request{}, false
		}
		r, err := gen()
		if err != nil {
			genErr = err
			return Request{}, false
		}
		return r, true
	}
	for range l.Connections {
		wg.Go(func() {
			for {
				r, ok := next()
				if !ok {
					return
				}
				l.send(ctx, r, time.Now(), rec)
			}
		})
	}
	wg.Wait()
	return genErr
}

func (l Load) send(ctx context.Context, r Request, from time.Time, rec *recorder) {
	resp, err := l.Client.Do(r.Req.WithContext(ctx))
	status := 0
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil {
			status = resp.StatusCode
		}
	}
	if ctx.Err() != nil {
		return // stopped: not an answer of the server's
	}
	rec.record(r.Op, status, time.Since(from))
}

// progress prints a line a second until the returned func is called.
func (l Load) progress(rec *recorder, start time.Time) (stop func()) {
	if l.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	// On a terminal, a bar over the run's seconds with the figures of
	// the last one beside it; elsewhere a line a second.
	var meter *progress.Meter
	if l.TTY {
		meter = progress.New(l.Progress, true, strings.TrimSpace(l.Label+" load, seconds"), int64(l.Duration/time.Second))
	}
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last := start
		show := func(now time.Time) {
			total, errs, n, p99 := rec.tick()
			figures := fmt.Sprintf("%8d requests  %7.0f req/s  %5d errors  p99 %s", total, float64(n)/now.Sub(last).Seconds(), errs, fmtMs(p99))
			last = now
			if meter != nil {
				meter.Note(strings.TrimSpace(figures))
				meter.Set(int64(now.Sub(start) / time.Second))
				return
			}
			fmt.Fprintf(l.Progress, "%s%4.1fs  %s (since the last line)\n", l.Label, now.Sub(start).Seconds(), figures)
		}
		for {
			select {
			case <-done:
				// The end, unless only a sliver has passed since the last
				// line: its rate and p99 would mislead.
				if now := time.Now(); last == start || now.Sub(last) >= 100*time.Millisecond {
					show(now)
				}
				if meter != nil {
					meter.Done()
				}
				return
			case now := <-t.C:
				show(now)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
