package ids_test

import (
	"fmt"
	"time"

	"github.com/photofeed/photofeed/ids"
)

func Example() {
	clock := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	g := ids.NewGenerator(clock)

	shard := ids.ShardForKey("alice", 1024)
	id, _ := g.Next(shard)

	fmt.Println(ids.Shard(id) == shard)
	fmt.Println(ids.Time(id).Format(time.RFC3339))
	// Output:
	// true
	// 2026-03-01T12:00:00Z
}
