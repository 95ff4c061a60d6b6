package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mattn/go-isatty"

	"github.com/photofeed/photofeed/internal/loadtest"
)

// loadtestCmd is `photofeed loadtest`: the project's own load generator.
func loadtestCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := loadtest.ParseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	tty := false
	if f, ok := stderr.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	env := loadtest.Env{Stdout: stdout, Stderr: stderr, TTY: tty, Reference: referenceCapacity}
	if err := loadtest.Main(ctx, o, env); err != nil {
		return fmt.Errorf("loadtest: %w", err)
	}
	return nil
}
