package app

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/photofeed/photofeed/internal/logging"
)

// newLogger is the node's logger, at --log-level in --log-format.
func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(logging.NewHandler(h)), nil
}
