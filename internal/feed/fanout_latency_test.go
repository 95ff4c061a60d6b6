package feed

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/events"
)

// The fan-out reports how long after its event a post reached the
// timelines, for posts only: other events write no post anywhere.
func TestFanOutReportsLatency(t *testing.T) {
	var got []time.Duration
	f := NewFanOut(&fanOutStore{}, Config{FannedOut: func(d time.Duration) { got = append(got, d) }}, nil)
	e, err := events.New(events.PhotoPosted, events.PhotoPostedV1{PostID: 5, AuthorID: 1}, time.Now().Add(-2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.Handle(ctx, e.Subject(), data, "", 1); err != nil {
		t.Fatal(err)
	}
	if err := f.Handle(ctx, "photofeed.events.PostLiked", nil, "", 2); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] < 2*time.Second || got[0] > time.Minute {
		t.Fatalf("reported %v; want one latency of a little over 2s", got)
	}
}

type fanOutStore struct{ advanceStore }

func (fanOutStore) FanOut(context.Context, string, int64, int64, int64, int, int) error { return nil }
