package media_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/media"
)

// The budget lends bytes until it is spent; a wait that outlasts its
// context is ErrBusy (a 503 if it ever reaches a client), and a release
// lets the next waiter in.
func TestBudget(t *testing.T) {
	var waits atomic.Int32
	b := media.NewBudget(100, func(time.Duration) { waits.Add(1) })
	ctx := context.Background()
	r1, err := b.Acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(short, 50); !errors.Is(err, media.ErrBusy) || errkind.Of(err) != errkind.Unavailable {
		t.Fatalf("over budget: %v, want ErrBusy", err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := b.Acquire(ctx, 50)
		if err == nil {
			r()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("acquired past the budget: %v", err)
	default:
	}
	r1()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	// More than the whole budget takes the whole budget, not forever.
	r, err := b.Acquire(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	r()
	if n := waits.Load(); n != 4 {
		t.Fatalf("%d waits reported, want one per Acquire (4)", n)
	}
}
