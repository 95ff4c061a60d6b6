// Package cdnpurge tells an edge cache to drop a deleted photo's media.
// Media URLs are immutable and cached for a year, so without a purge a
// CDN would keep serving a photo its author deleted.
package cdnpurge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/events"
)

// ConsumerName is the durable consumer the purger reads PhotoDeleted on.
const ConsumerName = "cdn-purge"

// Subjects are the events it handles.
var Subjects = []string{events.SubjectPrefix + events.PhotoDeleted}

// Purger sends one purge request per media object of a deleted post.
type Purger struct {
	template string // URL with {path}, e.g. http://cdn.internal{path}
	method   string
	client   *http.Client
	before   func(ctx context.Context, key string) error
}

// Config is what a Purger is built with.
type Config struct {
	// URL is an http(s) URL containing {path}, replaced by the object's
	// path (/media/<key>).
	URL string
	// Method is the purge request's (PURGE, POST, DELETE…; default PURGE).
	Method string
	// Client sends the purges (default: one with a 5s timeout).
	Client *http.Client
	// Before, if set, runs for each key before its purge: the caller
	// makes sure the bytes are gone, or an edge that refetches on the
	// purge would cache them again.
	Before func(ctx context.Context, key string) error
}

// New checks the URL template and the method.
func New(cfg Config) (*Purger, error) {
	template, method, client := cfg.URL, cfg.Method, cfg.Client
	if !strings.Contains(template, "{path}") {
		return nil, errors.New("--cdn-purge-url must contain {path}, e.g. http://cdn.internal{path}")
	}
	u, err := url.Parse(strings.ReplaceAll(template, "{path}", "/media/x"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--cdn-purge-url: want an http(s) URL with {path}, got %q", template)
	}
	if method == "" {
		method = "PURGE"
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &Purger{template: template, method: strings.ToUpper(method), client: client, before: cfg.Before}, nil
}

// Handle purges the media of a PhotoDeleted event. An object the edge
// does not hold (404) counts as purged; any other failure is returned so
// the event is retried with backoff.
func (p *Purger) Handle(ctx context.Context, subject string, data []byte) error {
	if subject != events.SubjectPrefix+events.PhotoDeleted {
		return nil
	}
	var e events.PhotoDeletedV1
	if _, err := events.Decode(data, &e); err != nil {
		return err
	}
	seen := map[string]bool{"": true} // a processing post has no variants yet
	for _, key := range e.MediaKeys {
		if seen[key] {
			continue
		}
		seen[key] = true
		if p.before != nil {
			if err := p.before(ctx, key); err != nil {
				return fmt.Errorf("before purging %s: %w", key, err)
			}
		}
		if err := p.Purge(ctx, "/media/"+url.PathEscape(key)); err != nil {
			return err
		}
	}
	return nil
}

// Purge asks the edge to drop path.
func (p *Purger) Purge(ctx context.Context, path string) error {
	target := strings.ReplaceAll(p.template, "{path}", path)
	req, err := http.NewRequestWithContext(ctx, p.method, target, nil)
	if err != nil {
		return fmt.Errorf("purge %s: %w", path, err)
	}
	res, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("purge %s: %w", path, err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	if res.StatusCode/100 != 2 && res.StatusCode != http.StatusNotFound {
		return fmt.Errorf("purge %s: %s answered %s", path, p.method, res.Status)
	}
	return nil
}
