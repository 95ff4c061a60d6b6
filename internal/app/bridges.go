package app

// What one part asks of another, adapted here so neither imports the
// other: the periodic cleanups' view of the stores, the posts' view of
// the authors, the idempotency keys' view of who sent a request, and
// /readyz's view of the replicas.

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/photofeed/photofeed/internal/blobstore"
	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
)

// requestScope names who sent a request, for idempotency keys: the user,
// or the client address of anonymous requests.
func requestScope(r *http.Request) string {
	if uid := httpauth.UserID(r.Context()); uid != 0 {
		return "user:" + strconv.FormatInt(uid, 10)
	}
	return "ip:" + clientip.From(r)
}

// readyDetail reports the replicas' health in /readyz, when there are any.
func readyDetail(db *database) func() any {
	if db.Replicas == nil {
		return nil
	}
	return func() any { return db.Replicas() }
}

// maintenance is what the periodic cleanup jobs clean.
type maintenance struct {
	db    *database
	posts *posts.Service
	blobs blobs
}

func (m maintenance) DeleteExpiredIdempotencyKeys(ctx context.Context, now time.Time) (int, error) {
	return m.db.Idempotency().DeleteExpired(ctx, now)
}

func (m maintenance) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return m.db.Identity().DeleteExpiredSessions(ctx, now)
}

func (m maintenance) DeleteSentOutbox(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for _, p := range m.db.parts {
		n, err := p.outbox.DeleteSent(ctx, before)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (m maintenance) RemoveOrphanBlobs(ctx context.Context, olderThan time.Time) (int, error) {
	n, err := m.posts.RemoveOrphanBlobs(ctx, olderThan)
	// The media directory also keeps what a killed process was writing.
	if dir, ok := m.blobs.blobBackend.(*blobstore.Dir); ok && err == nil {
		var temps int
		temps, err = dir.RemoveTemps(ctx, olderThan)
		n += temps
	}
	return n, err
}

// authorDirectory lets posts name authors without knowing identity.
type authorDirectory struct{ ids *identity.Service }

func (d authorDirectory) Authors(ctx context.Context, idList []int64) (map[int64]posts.Author, error) {
	users, err := d.ids.UsersByIDs(ctx, idList)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]posts.Author, len(users))
	for id, u := range users {
		out[id] = posts.Author{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
	}
	return out, nil
}
