package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/photofeed/photofeed/ids"
)

// Shards says where data lives. Accounts and sessions are in the main
// database; everything a user owns (posts and their blob references, likes
// of those posts, follows in both directions, follower counts, the home
// timeline, idempotency keys) is in the user's logical shard, which the id
// names (ids.Shard); each shard is a set of tables on one of the physical
// databases, and a shard can move between them.
//
// Statements name a shard's tables with the prefix "shard." (shard.posts);
// Prefix gives what replaces it: a schema ("shard_0007.") on PostgreSQL,
// nothing on the single SQLite database, where all shards share the tables.
type Shards interface {
	Main() Conn
	// Databases lists every physical database once, Names their names in
	// the shard map; Home indexes them.
	Databases() []Conn
	Names() []string
	Home(shard int) int
	Prefix(shard int) string
	// Count is the number of logical shards, fixed when the deployment
	// is created.
	Count() int
	// Fence runs first in a write transaction on a shard: it holds a move
	// of the shard off until the transaction ends, and fails if the shard
	// has left this database (see Moved).
	Fence(ctx context.Context, tx Tx, shard int) error
	// Moved reports whether err says that a shard lives elsewhere now, once
	// the map shows where: the caller routes again and retries.
	Moved(ctx context.Context, err error) bool
}

// Single is one database holding every shard in the same tables: the
// embedded SQLite database, or a test's.
func Single(c Conn, count int) Shards { return single{c, count} }

type single struct {
	c     Conn
	count int
}

func (s single) Main() Conn                         { return s.c }
func (s single) Databases() []Conn                  { return []Conn{s.c} }
func (single) Names() []string                      { return []string{""} }
func (single) Home(int) int                         { return 0 }
func (single) Prefix(int) string                    { return "" }
func (s single) Count() int                         { return s.count }
func (single) Fence(context.Context, Tx, int) error { return nil }
func (single) Moved(context.Context, error) bool    { return false }

// cluster is what the stores share: the shards and the statements written
// for each.
type cluster struct{ sh Shards }

var qualified sync.Map // struct{ q, prefix string } → statement

// q rewrites a statement's "shard." tables for shard n.
func (c cluster) q(n int, stmt string) string {
	return qualify(stmt, c.sh.Prefix(n))
}

func qualify(stmt, prefix string) string {
	k := [2]string{stmt, prefix}
	if v, ok := qualified.Load(k); ok {
		return v.(string)
	}
	out := strings.ReplaceAll(stmt, "shard.", prefix)
	qualified.Store(k, out)
	return out
}

// of is the database holding the shard of id.
func (c cluster) of(id int64) (Conn, int) {
	n := ids.Shard(id)
	return c.sh.Databases()[c.sh.Home(n)], n
}

// read runs fn against the database of the shard of id, and again if the
// shard moved away meanwhile.
func (c cluster) read(ctx context.Context, id int64, fn func(db Conn, n int) error) error {
	for attempt := 0; ; attempt++ {
		db, n := c.of(id)
		err := fn(db, n)
		if err == nil || attempt == 3 || !c.sh.Moved(ctx, err) {
			return err
		}
	}
}

// write runs fn in one transaction on the database holding the shards of
// every id in owners (they must share one), fenced against moves of those
// shards; if one moved meanwhile, it routes again and retries.
func (c cluster) write(ctx context.Context, owners []int64, fn func(tx Tx) error) error {
	return c.retry(ctx, func() error { return c.writeOnce(ctx, owners, fn) })
}

// retry runs fn again (routing again) while it fails because a shard it
// wrote to has moved.
func (c cluster) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || attempt == 3 || !(errors.Is(err, errSplit) || c.sh.Moved(ctx, err)) {
			return err
		}
	}
}

// errSplit says the shards of one write are on different databases.
var errSplit = errors.New("shards of one write on different databases")

func (c cluster) writeOnce(ctx context.Context, owners []int64, fn func(tx Tx) error) error {
	shards := make([]int, 0, len(owners))
	for _, id := range owners {
		shards = append(shards, ids.Shard(id))
	}
	return c.writeShards(ctx, shards, fn)
}

// writeShards is writeOnce for shards by number.
func (c cluster) writeShards(ctx context.Context, shards []int, fn func(tx Tx) error) error {
	shards = slices.Clone(shards)
	slices.Sort(shards)
	shards = slices.Compact(shards)
	home := c.sh.Home(shards[0])
	for _, n := range shards[1:] {
		if c.sh.Home(n) != home {
			return fmt.Errorf("%w: %d and %d", errSplit, shards[0], n)
		}
	}
	return c.sh.Databases()[home].InTx(ctx, func(tx Tx) error {
		for _, n := range shards {
			if err := c.sh.Fence(ctx, tx, n); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// sameDB reports whether the shards of a and b are on one database now.
func (c cluster) sameDB(a, b int64) bool {
	return c.sh.Home(ids.Shard(a)) == c.sh.Home(ids.Shard(b))
}

// group is the ids of one database's shards, by shard.
type group struct {
	db     Conn
	shards map[int][]int64
}

// groups sorts ids by the database and shard holding them, so a read
// across shards asks each database once.
func (c cluster) groups(idList []int64) []group {
	byDB := map[int]*group{}
	var order []int
	for _, id := range idList {
		n := ids.Shard(id)
		h := c.sh.Home(n)
		g := byDB[h]
		if g == nil {
			g = &group{db: c.sh.Databases()[h], shards: map[int][]int64{}}
			byDB[h] = g
			order = append(order, h)
		}
		g.shards[n] = append(g.shards[n], id)
	}
	out := make([]group, 0, len(order))
	for _, h := range order {
		out = append(out, *byDB[h])
	}
	return out
}

// union is one statement over a group's shards: part, qualified for each
// shard, joined by UNION ALL, with each part's arguments in turn. Parts
// that order or limit must be parenthesised by the caller.
func (c cluster) union(g group, part string, args func(n int, ids []int64) []any) (string, []any) {
	shards := make([]int, 0, len(g.shards))
	for n := range g.shards {
		shards = append(shards, n)
	}
	slices.Sort(shards)
	var b strings.Builder
	var all []any
	for i, n := range shards {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString(c.q(n, part))
		all = append(all, args(n, g.shards[n])...)
	}
	return b.String(), all
}

// prefixesOf is every shard's prefix on database h, once each (one, "",
// where all shards share the tables).
func (c cluster) prefixesOf(h int) []string {
	var out []string
	seen := map[string]bool{}
	for n := range c.sh.Count() {
		if c.sh.Home(n) != h {
			continue
		}
		if p := c.sh.Prefix(n); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}
