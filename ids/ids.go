// Package ids generates 64-bit identifiers that sort by creation time and
// carry the logical shard of the data they belong to, in Instagram's layout:
//
//	| 41 bits: milliseconds since Epoch | 13 bits: logical shard | 10 bits: sequence |
//
// Because the shard is part of the id, any id can be routed to the database
// that holds it without a lookup, and because time is in the high bits,
// ordering by id is ordering by creation time, across shards.
//
// Ids stay positive for 2^40 ms (about 34.8 years) after Epoch; the 41st bit
// would make them negative in signed 64-bit columns.
package ids

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"
)

const (
	TimeBits  = 41
	ShardBits = 13
	SeqBits   = 10

	// MaxShards is the number of logical shards an id can address.
	MaxShards = 1 << ShardBits
	maxSeq    = 1<<SeqBits - 1
)

// Epoch is the zero of the id clock.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// ErrShardRange is returned for a shard outside [0, MaxShards).
var ErrShardRange = errors.New("ids: shard out of range")

// Generator hands out ids. It is safe for concurrent use.
//
// Ids from one Generator are strictly increasing. Two processes generating
// for the same shard in the same millisecond could pick the same sequence;
// the store's primary key is the arbiter there, and a second scale-out
// deployment takes the sequence from the shard's database instead.
type Generator struct {
	now func() time.Time

	mu     sync.Mutex
	lastMS int64
	seq    int64
}

// NewGenerator returns a Generator reading time from now (time.Now if nil).
func NewGenerator(now func() time.Time) *Generator {
	if now == nil {
		now = time.Now
	}
	return &Generator{now: now, lastMS: -1}
}

// Next returns a new id for shard.
//
// It never blocks: when the sequence of a millisecond is used up, or the
// clock steps backwards, it continues on the following millisecond, so ids
// run ahead of the wall clock only while more than 1,024 ids per millisecond
// are requested.
func (g *Generator) Next(shard int) (int64, error) {
	if shard < 0 || shard >= MaxShards {
		return 0, fmt.Errorf("%w: %d", ErrShardRange, shard)
	}
	ms := g.now().Sub(Epoch).Milliseconds()
	if ms < 0 {
		return 0, fmt.Errorf("ids: clock %s is before the epoch", g.now().UTC().Format(time.RFC3339))
	}

	g.mu.Lock()
	switch {
	case ms > g.lastMS:
		g.lastMS, g.seq = ms, 0
	case g.seq < maxSeq:
		g.seq++
	default:
		g.lastMS, g.seq = g.lastMS+1, 0
	}
	ms, seq := g.lastMS, g.seq
	g.mu.Unlock()

	return ms<<(ShardBits+SeqBits) | int64(shard)<<SeqBits | seq, nil
}

// Shard returns the logical shard embedded in id.
func Shard(id int64) int {
	return int(id>>SeqBits) & (MaxShards - 1)
}

// Time returns the millisecond at which id was generated.
func Time(id int64) time.Time {
	return Epoch.Add(time.Duration(id>>(ShardBits+SeqBits)) * time.Millisecond)
}

// ShardForKey maps a stable key (a username, say) to one of n logical
// shards with FNV-1a, so the same key always lands on the same shard.
func ShardForKey(key string, n int) int {
	if n <= 0 || n > MaxShards {
		n = MaxShards
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}
