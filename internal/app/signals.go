package app

import (
	"log/slog"
	"strconv"

	"github.com/photofeed/photofeed/internal/feed"
	"github.com/photofeed/photofeed/internal/posts"
)

// The workers' announcements, on plain NATS subjects (not the events
// stream: they are wake-ups, worth nothing once late). Every api node,
// this one included, listens; a lost one only makes a waiting request
// wait to its bound.
const (
	// fanOutPositionSubject carries "<outbox source> <seq>": the fan-out
	// consumer has handled that position, and a feed read waiting for it
	// re-reads the offsets.
	fanOutPositionSubject = "photofeed.fanout.position"
	// postSettledSubject carries a post id whose thumbnail job ended (the
	// post is ready or failed), waking the upload waiting for it.
	postSettledSubject = "photofeed.posts.settled"
)

type listener interface {
	Listen(subject string, fn func(data []byte)) (stop func(), err error)
}

// announcer sends the workers' announcements.
type announcer struct {
	bus broadcaster
	log *slog.Logger
}

func (a announcer) fanOutPosition(source string, seq int64) {
	a.send(fanOutPositionSubject, source+" "+strconv.FormatInt(seq, 10))
}

func (a announcer) postSettled(id int64) {
	a.send(postSettledSubject, strconv.FormatInt(id, 10))
}

func (a announcer) send(subject, data string) {
	if err := a.bus.Broadcast(subject, []byte(data)); err != nil {
		a.log.Debug("announcement not sent; a request waiting for it waits to its bound", "subject", subject, "err", err)
	}
}

// listenAnnouncements wakes this node's waiting feed reads and uploads at
// the workers' announcements, until the returned stop.
func listenAnnouncements(bus listener, progress *feed.Progress, settled *posts.Settlements, log *slog.Logger) (stop func() error, err error) {
	stopFanOut, err := bus.Listen(fanOutPositionSubject, func([]byte) { progress.Announce() })
	if err != nil {
		return nil, err
	}
	stopPosts, err := bus.Listen(postSettledSubject, func(data []byte) {
		id, ok := parsePostSettled(data)
		if !ok {
			log.Warn("malformed post settlement", "message", string(data))
			return
		}
		settled.Settled(id)
	})
	if err != nil {
		stopFanOut()
		return nil, err
	}
	return func() error { stopFanOut(); stopPosts(); return nil }, nil
}

// parsePostSettled reads a postSettledSubject message: a positive post
// id, written as postSettled writes it.
func parsePostSettled(data []byte) (int64, bool) {
	id, err := strconv.ParseInt(string(data), 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == string(data)
}
