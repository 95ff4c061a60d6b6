package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/postgres"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/testenv"
)

// A processing post's job is enqueued in its own database's transaction,
// and the hook is told which database that is: the application keeps a
// job queue per database.
func TestProcessingPostHookNamesItsDatabase(t *testing.T) {
	var mu sync.Mutex
	var got []string
	hook := func(_ context.Context, database string, tx *sql.Tx, _ int64) error {
		if tx == nil {
			return errors.New("no transaction")
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, database)
		return nil
	}
	db, err := postgres.OpenCluster(t.Context(), postgres.Config{URL: testenv.PostgresURL(t), Shards: 8, OnProcessingPost: hook,
		Databases: []postgres.Database{{Name: "a", URL: testenv.PostgresURL(t)}, {Name: "b", URL: testenv.PostgresURL(t)}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	gen := ids.NewGenerator(nil)
	for _, shard := range []int{1, 6} { // 0–3 on a, 4–7 on b
		author, _ := gen.Next(shard)
		name := fmt.Sprintf("user%d", shard)
		if err := db.Identity().CreateUser(ctx, identity.User{ID: author, Username: name, DisplayName: name, CreatedAt: time.Now()}, "hash", idempotency.Claim{}); err != nil {
			t.Fatal(err)
		}
		id, _ := gen.Next(shard)
		if err := db.Posts().CreatePost(ctx, posts.Post{ID: id, AuthorID: author, CreatedAt: ids.Time(id), Status: posts.Processing}, idempotency.Claim{}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("enqueued on %v, want %v", got, want)
	}
}
