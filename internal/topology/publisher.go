package topology

import (
	"context"
	"log/slog"
	"time"
)

// PublisherConfig sets a Publisher up.
type PublisherConfig struct {
	// Send puts a heartbeat on the bus without waiting for anyone (a
	// core NATS publish, buffered by the client). Required.
	Send func(subject string, data []byte) error
	// Self is who the node is; Sent, Interval, Leaving and Figures are
	// filled in at each beat.
	Self Beat
	// Figures, if set, is asked for the numbers at each beat, off the
	// request path: it must only read what the node already counts.
	Figures  func() Figures
	Interval time.Duration // default 1 s
	Logger   *slog.Logger
	Now      func() time.Time
}

// Publisher announces its node on the bus every Interval.
type Publisher struct{ cfg PublisherConfig }

// NewPublisher makes a publisher; Run starts it.
func NewPublisher(cfg PublisherConfig) *Publisher {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Publisher{cfg: cfg}
}

// Run beats until ctx ends, then sends a last beat saying the node is
// leaving, so that a graceful stop is shown as such at once rather than
// as a loss seconds later. A failed send (the bus down) is logged at
// debug and the next beat tries again: the heartbeat never holds the
// node up.
func (p *Publisher) Run(ctx context.Context) error {
	tick := time.NewTicker(p.cfg.Interval)
	defer tick.Stop()
	p.beat(false)
	for {
		select {
		case <-ctx.Done():
			p.beat(true)
			return nil
		case <-tick.C:
			p.beat(false)
		}
	}
}

func (p *Publisher) beat(leaving bool) {
	b := p.cfg.Self
	b.Sent, b.Interval, b.Leaving = p.cfg.Now(), p.cfg.Interval.Seconds(), leaving
	if p.cfg.Figures != nil {
		b.Figures = p.cfg.Figures()
	}
	data, err := b.Encode()
	if err == nil {
		err = p.cfg.Send(Subject, data)
	}
	if err != nil {
		p.cfg.Logger.Debug("heartbeat not sent", "err", err)
	}
}
