// Package live carries "a post landed in your feed" to the api node that
// holds the reader's open stream (GET /v2/feed/stream).
//
// The news travels on plain NATS subjects, not the events stream: it is
// a wake-up worth nothing once late, and a reader who missed one reads
// it back from the timeline on reconnecting (Last-Event-ID). Two kinds:
//
//   - photofeed.live.<group>: the fan-out consumer, after writing a post
//     into timelines, publishes the readers it wrote to, one message per
//     group of readers (group = a hash of the user id, mod Groups). A node
//     subscribes only to the groups of the streams it holds, so the
//     traffic a node takes grows with its streams, not with the whole
//     deployment; the gateway pins a user's streams to one node, so each
//     group message concerns few nodes.
//   - photofeed.live.celebrity: a post by an author merged into feeds at
//     read time (too many followers to fan out) is published once, with
//     no reader list, and every node checks which of its readers follow
//     that author. Listing the followers would be the per-follower cost
//     the fan-out threshold exists to avoid.
package live

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Groups is how many groups readers are hashed into: enough that a node
// holding a few streams takes a small share of the traffic, few enough
// that a post to thousands of readers is at most this many messages.
const Groups = 64

// CelebritySubject carries the posts of authors merged at read time.
const CelebritySubject = "photofeed.live.celebrity"

// Group is the group of a reader. Ids are time-sortable with the shard in
// their low bits, so they are mixed first (splitmix64's finaliser) to
// spread evenly.
func Group(userID int64) int {
	x := uint64(userID)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % Groups)
}

// GroupSubject is the subject of a group's landed posts.
func GroupSubject(group int) string { return "photofeed.live." + strconv.Itoa(group) }

// Post is a post that landed in some feeds.
type Post struct {
	ID     int64 `json:"post"`
	Author int64 `json:"author"`
}

// landed is a group message: the post and the readers, all of the group,
// it was written to.
type landed struct {
	Post
	Readers []int64 `json:"readers,omitempty"`
}

// Broadcaster publishes on plain subjects.
type Broadcaster interface {
	Broadcast(subject string, data []byte) error
}

// Publish tells the nodes holding the readers' streams that p landed in
// their feeds: one message per group of readers.
func Publish(bus Broadcaster, p Post, readers []int64) error {
	byGroup := map[int][]int64{}
	for _, r := range readers {
		g := Group(r)
		byGroup[g] = append(byGroup[g], r)
	}
	for g, rs := range byGroup {
		b, _ := json.Marshal(landed{Post: p, Readers: rs})
		if err := bus.Broadcast(GroupSubject(g), b); err != nil {
			return fmt.Errorf("publish live post %d: %w", p.ID, err)
		}
	}
	return nil
}

// PublishCelebrity tells every node that p, by an author merged at read
// time, was posted.
func PublishCelebrity(bus Broadcaster, p Post) error {
	b, _ := json.Marshal(p)
	if err := bus.Broadcast(CelebritySubject, b); err != nil {
		return fmt.Errorf("publish live post %d: %w", p.ID, err)
	}
	return nil
}
