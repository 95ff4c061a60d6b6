package app

import (
	"context"
	"image/color"
	"strconv"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/posts"
)

// A settlement message names one post exactly as it was written; anything
// else is refused.
func FuzzParsePostSettled(f *testing.F) {
	for _, s := range []string{"42", "0", "-1", "", "+42", "042", "9223372036854775808", "4 2", "x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, ok := parsePostSettled(data)
		if ok && (id <= 0 || strconv.FormatInt(id, 10) != string(data)) {
			t.Fatalf("%q read as post %d", data, id)
		}
	})
}

// The fan-out consumer's announcement of a handled position reaches the
// feed reads over the bus: a post's event, once handled, wakes them.
func TestFanOutPositionReachesFeedReads(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	author := w.user("author")
	stop := w.n.start(ctx)
	defer stop()
	w.caughtUp() // the user's registration is behind us
	moved := w.n.feed.Config().Progress.Next()
	if _, err := w.n.posts.Create(ctx, author, "announced", SampleJPEG(t, 60, 40, color.RGBA{70, 140, 210, 255}), idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-moved:
	case <-time.After(30 * time.Second):
		t.Fatal("no fan-out announcement reached the feed 30 s after a post")
	}
}

// An upload's wait ends at its thumbnail job's announcement over the bus:
// with a bound of an hour, only the announcement can end it in time.
func TestUploadWaitEndsAtThumbnailAnnouncement(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p, err := w.n.posts.Create(ctx, w.user("author"), "waited for", SampleJPEG(t, 300, 200, color.RGBA{70, 140, 210, 255}), idempotency.Claim{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != posts.Processing {
		t.Fatalf("new post %s, want processing until its job runs", p.Status)
	}
	stop := w.n.start(ctx)
	defer stop()
	start := time.Now()
	got, err := w.n.posts.WaitReady(ctx, p.ID, time.Hour)
	if err != nil || got.Status != posts.Ready {
		t.Fatalf("after %v: %s %v, want ready (the wait ended only by the test's 30 s timeout?)", time.Since(start), got.Status, err)
	}
	t.Logf("upload wait ended %v after the worker started, at the job's announcement (bound 1h)", time.Since(start))
}
