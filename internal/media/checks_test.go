package media_test

import (
	"context"
	"errors"
	"image/color"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/media"
)

// A check finding every slot taken waits up to its wait, then is ErrBusy
// (unavailable: a 503); a caller that gives up gets its context's error,
// not a 503 nobody reads; a freed slot lets the next check run.
func TestChecksWaitThenBusy(t *testing.T) {
	photo := encodePNG(t, solid(40, 30, color.NRGBA{10, 20, 30, 255}))
	lim := media.Limits{Pixels: 1 << 20}
	var waits []time.Duration // Acquire's callers are this goroutine alone
	c := media.NewChecks(1, 50*time.Millisecond, func(d time.Duration) { waits = append(waits, d) })
	release, err := c.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	_, err = c.Validate(t.Context(), photo, lim)
	if !errors.Is(err, media.ErrBusy) || errkind.Of(err) != errkind.Unavailable {
		t.Fatalf("validate with the slot taken: %v, want ErrBusy", err)
	}
	if waited := time.Since(started); waited < 50*time.Millisecond {
		t.Fatalf("gave up after %s, before the wait", waited)
	}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Validate(gone, photo, lim); !errors.Is(err, context.Canceled) {
		t.Fatalf("validate for a caller that left: %v, want context.Canceled", err)
	}
	release()
	if hdr, err := c.Validate(t.Context(), photo, lim); err != nil || hdr.Width != 40 {
		t.Fatalf("validate with the slot free: %+v, %v", hdr, err)
	}
	if c.Size() != 1 || media.NewChecks(0, time.Second, nil).Size() != 1 {
		t.Fatal("a node has at least one check slot")
	}
	// Every wait is reported, the refused one with its whole wait.
	if len(waits) != 4 || waits[1] < 50*time.Millisecond || waits[3] >= 50*time.Millisecond {
		t.Fatalf("waits reported %v; want 4, the second the whole 50ms, the last short", waits)
	}
}
