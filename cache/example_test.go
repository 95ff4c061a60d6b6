package cache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/photofeed/photofeed/cache"
)

func Example() {
	users := map[int]string{1: "alice", 2: "bob"}
	profiles := cache.New(cache.Config{TTL: time.Minute, NegativeTTL: 5 * time.Second},
		func(ctx context.Context, id int) (string, error) {
			name, ok := users[id]
			if !ok {
				return "", cache.ErrNotFound // remembered, so unknown ids cannot hammer the store
			}
			return name, nil
		})
	ctx := context.Background()
	for _, id := range []int{1, 1, 1, 3, 3} {
		name, err := profiles.Get(ctx, id)
		fmt.Println(id, name, errors.Is(err, cache.ErrNotFound))
	}
	fmt.Println("loads:", profiles.Loads())
	// Output:
	// 1 alice false
	// 1 alice false
	// 1 alice false
	// 3  true
	// 3  true
	// loads: 2
}
