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
//
// Each process generates on its own, so two of them can make the same id:
// for the same shard in the same millisecond, with the same sequence. Each
// millisecond's sequence starts at a random offset, which makes that about
// a 1/1,024 chance when each makes one id then (it was a certainty when
// every millisecond started at 0). The store's primary key catches the
// rest: a create whose id is taken answers ErrTaken, and Try offers the
// caller a fresh id.
package ids

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
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

// ErrTaken is what a store answers for a write whose new id another
// Generator has already used: the caller takes a fresh id and tries again.
var ErrTaken = errors.New("ids: id already taken")

// Generator hands out ids. It is safe for concurrent use.
//
// Ids from one Generator are strictly increasing. Each millisecond's
// sequence starts at a random offset, so two Generators (two processes)
// each making an id for the same shard in the same millisecond pick the
// same one with a probability of about 1/1,024, not about 1 as when both
// started at 0. They still can: the store answers ErrTaken then, and Try
// takes a fresh id.
type Generator struct {
	now   func() time.Time
	start func() int

	mu     sync.Mutex
	lastMS int64
	seq    int64
}

// NewGenerator returns a Generator reading time from now (time.Now if nil).
func NewGenerator(now func() time.Time) *Generator {
	return NewGeneratorWithStart(now, nil)
}

// NewGeneratorWithStart is NewGenerator with start choosing where each
// millisecond's sequence begins, in [0, 1024) (random if nil): a fixed
// start makes two Generators meet, for the tests of what follows.
func NewGeneratorWithStart(now func() time.Time, start func() int) *Generator {
	if now == nil {
		now = time.Now
	}
	if start == nil {
		start = func() int { return rand.IntN(maxSeq + 1) }
	}
	return &Generator{now: now, start: start, lastMS: -1}
}

// Next returns a new id for shard.
//
// It never blocks: when the sequence of a millisecond is used up (it runs
// from its random start to 1,023, so a millisecond holds 512 ids on
// average), or the clock steps backwards, it continues on the following
// millisecond, at a new random start, so ids run ahead of the wall clock
// only while some hundreds of ids per millisecond are requested.
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
		g.lastMS, g.seq = ms, int64(g.start()&maxSeq)
	case g.seq < maxSeq:
		g.seq++
	default:
		g.lastMS, g.seq = g.lastMS+1, int64(g.start()&maxSeq)
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

// Tries is how many ids Try offers before it gives up: with random
// sequence starts a second collision in a row is about a thousand times
// rarer than the first, so running out means something else is wrong.
const Tries = 5

// Try calls insert with a new id for shard until it returns anything but
// ErrTaken (another process got that id first), at most Tries times, and
// returns the id it offered last with insert's error. Each attempt must be
// whole in itself (its own transaction): nothing of a refused one stays.
func (g *Generator) Try(shard int, insert func(id int64) error) (int64, error) {
	var err error
	for range Tries {
		var id int64
		if id, err = g.Next(shard); err != nil {
			return 0, err
		}
		if err = insert(id); !errors.Is(err, ErrTaken) {
			return id, err
		}
	}
	return 0, fmt.Errorf("no free id in %d tries: %w", Tries, err)
}
