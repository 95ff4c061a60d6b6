package leanhttp

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
)

// watchClientAfter is how long a request runs before its connection is
// read in the background to notice the client leaving. Most answers are
// done before: they pay for a timer's reset and stop, not for a goroutine
// and a read as with net/http's background read on every request.
var watchClientAfter = 50 * time.Millisecond

// clientWatch reads a connection while its request is answered, once the
// answer takes longer than watchClientAfter, and cancels the connection's
// context when the client is gone (EOF or a reset). A request in the lean
// loop has no body, so the only bytes a live client can send meanwhile
// are its next request's: they stay in the buffer for the loop.
type clientWatch struct {
	c     *conn
	timer *time.Timer
	done  chan struct{} // the read ended after stop asked it to

	mu        sync.Mutex
	answering bool // a request is being answered
	reading   bool // the watch is in its read
	stopping  bool // stop interrupted the read and waits for it
}

func (w *clientWatch) init(c *conn) {
	w.c = c
	w.done = make(chan struct{})
	w.timer = time.AfterFunc(time.Hour, w.read)
	w.timer.Stop()
}

func (w *clientWatch) start() {
	w.mu.Lock()
	w.answering = true
	w.mu.Unlock()
	w.timer.Reset(watchClientAfter)
}

// stop ends the watch before the loop reads the connection again.
func (w *clientWatch) stop() {
	w.timer.Stop()
	w.mu.Lock()
	w.answering = false
	if !w.reading {
		w.mu.Unlock()
		return
	}
	w.stopping = true
	w.c.nc.SetReadDeadline(time.Unix(1, 0)) // ends the read at once
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	w.stopping = false
	w.mu.Unlock()
}

// read runs on the timer's goroutine. A timer that fired as the last
// request ended may run it late, while the next is answered: it watches
// that one, unless its own timer's run already does.
func (w *clientWatch) read() {
	w.mu.Lock()
	if !w.answering || w.reading {
		w.mu.Unlock()
		return
	}
	w.reading = true
	// The deadline readHead left may have passed; stop sets one to end
	// this read.
	w.c.nc.SetReadDeadline(time.Time{})
	w.mu.Unlock()

	br := w.c.br
	_, err := br.Peek(br.Buffered() + 1)

	w.mu.Lock()
	w.reading = false
	stopping := w.stopping
	w.mu.Unlock()
	var ne net.Error
	gone := err != nil && !errors.Is(err, bufio.ErrBufferFull) && !(errors.As(err, &ne) && ne.Timeout())
	if gone {
		w.c.cancel()
	}
	if stopping {
		w.done <- struct{}{}
	}
}
