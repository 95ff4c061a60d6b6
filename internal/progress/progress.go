// Package progress shows how far long command-line work has come: a bar
// (or, when the amount of work is not known, a spinner) rewritten in
// place when the output is a terminal, drawn by schollz/progressbar; and
// when it is not (a log file, a CI job), a plain line now and then, which
// reads well there and does not fill the log with redraws.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
)

// Terminal reports whether w is a terminal.
func Terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// PlainEvery is how often a Meter writing plain lines writes one at most.
const PlainEvery = 2 * time.Second

// Meter counts work done out of a total (or of an unknown amount, when
// the total is negative). It is safe for concurrent use.
type Meter struct {
	bar *progressbar.ProgressBar // nil: plain lines

	mu        sync.Mutex
	w         io.Writer
	what      string
	done      int64
	total     int64
	note      string
	lastLine  time.Time
	lastShown int64
	now       func() time.Time
}

// New starts a Meter for what, writing to w: a bar when tty is set.
func New(w io.Writer, tty bool, what string, total int64) *Meter {
	m := &Meter{w: w, what: what, total: total, now: time.Now}
	if tty {
		m.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetPredictTime(total > 0),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return m
}

// Add counts n more done.
func (m *Meter) Add(n int64) { m.update(func() { m.done += n }) }

// Set says how much is done in all.
func (m *Meter) Set(done int64) { m.update(func() { m.done = done }) }

// Note changes what is said beside the count (a phase, a rate).
func (m *Meter) Note(s string) { m.update(func() { m.note = s }) }

func (m *Meter) update(change func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	change()
	if m.bar != nil {
		if m.note != "" {
			m.bar.Describe(m.what + ": " + m.note)
		}
		m.bar.Set64(m.done)
		return
	}
	now := m.now()
	if !m.lastLine.IsZero() && now.Sub(m.lastLine) < PlainEvery {
		return
	}
	m.line()
	m.lastLine = now
}

// line writes the state as one plain line.
func (m *Meter) line() {
	s := fmt.Sprintf("%s: %d", m.what, m.done)
	if m.total > 0 {
		s = fmt.Sprintf("%s: %d of %d (%d%%)", m.what, m.done, m.total, m.done*100/m.total)
	}
	if m.note != "" {
		s += ", " + m.note
	}
	fmt.Fprintln(m.w, s)
	m.lastShown = m.done
}

// Done ends the meter: the bar is completed (the count so far, if the
// work ended early) and its line ended; a plain meter writes its last
// line unless it has just written it.
func (m *Meter) Done() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar != nil {
		if m.total < 0 || m.done < m.total {
			m.bar.ChangeMax64(m.done)
		}
		m.bar.Finish()
		return
	}
	if m.lastLine.IsZero() || m.lastShown != m.done {
		m.line()
	}
}
