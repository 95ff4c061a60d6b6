// Package events defines photofeed's domain events: what happened, as the
// other contexts and processes learn of it. Events leave through the
// transactional outbox, written in the same transaction as the change they
// describe, and travel on NATS JetStream. Schemas are in docs/events.md;
// the rule is: add fields, never repurpose or remove one, and bump Version
// when a payload's meaning changes.
package events

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Event types.
const (
	UserRegistered = "UserRegistered"
	PhotoPosted    = "PhotoPosted"
	PhotoDeleted   = "PhotoDeleted"
	UserFollowed   = "UserFollowed"
	UserUnfollowed = "UserUnfollowed"
	PostLiked      = "PostLiked"
	PostUnliked    = "PostUnliked"
)

// SubjectPrefix is where events are published: photofeed.events.<Type>.
const SubjectPrefix = "photofeed.events."

// Event is the envelope every event travels in.
type Event struct {
	ID         string          `json:"id"` // unique; consumers deduplicate by it
	Type       string          `json:"type"`
	Version    int             `json:"version"`
	OccurredAt time.Time       `json:"occurred_at"`
	Payload    json.RawMessage `json:"payload"`
}

// Subject is the NATS subject the event is published on.
func (e Event) Subject() string { return SubjectPrefix + e.Type }

// New wraps payload in an envelope with a fresh random id.
func New(typ string, payload any, at time.Time) (Event, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: %w", typ, err)
	}
	var id [16]byte
	rand.Read(id[:])
	return Event{ID: hex.EncodeToString(id[:]), Type: typ, Version: 1, OccurredAt: at.UTC(), Payload: p}, nil
}

// Decode reads an envelope and, into v, its payload.
func Decode(data []byte, v any) (Event, error) {
	var e Event
	if err := json.Unmarshal(data, &e); err != nil {
		return Event{}, fmt.Errorf("decode event: %w", err)
	}
	if v != nil {
		if err := json.Unmarshal(e.Payload, v); err != nil {
			return Event{}, fmt.Errorf("decode %s payload: %w", e.Type, err)
		}
	}
	return e, nil
}

// Payloads, version 1. Ids are decimal strings, as in the API.

type UserRegisteredV1 struct {
	UserID      int64  `json:"user_id,string"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

type PhotoPostedV1 struct {
	PostID    int64     `json:"post_id,string"`
	AuthorID  int64     `json:"author_id,string"`
	Caption   string    `json:"caption"`
	CreatedAt time.Time `json:"created_at"`
}

type PhotoDeletedV1 struct {
	PostID   int64 `json:"post_id,string"`
	AuthorID int64 `json:"author_id,string"`
	// MediaKeys are the post's image keys, for edge caches to purge; some
	// may still serve other posts (blobs are shared by content).
	MediaKeys []string `json:"media_keys,omitempty"`
}

type FollowV1 struct { // UserFollowed and UserUnfollowed
	FollowerID int64 `json:"follower_id,string"`
	FolloweeID int64 `json:"followee_id,string"`
}

type LikeV1 struct { // PostLiked and PostUnliked
	PostID int64 `json:"post_id,string"`
	UserID int64 `json:"user_id,string"`
}
