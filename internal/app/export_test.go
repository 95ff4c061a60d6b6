package app

import (
	"context"
	"os"
)

// WithHangups makes a gateway run with ctx re-read --upstreams-file at
// each value sent on ch, instead of at SIGHUP: a test need not signal its
// own process.
func WithHangups(ctx context.Context, ch <-chan os.Signal) context.Context {
	return context.WithValue(ctx, hangupsKey{}, ch)
}
