package feed

import (
	"context"
	"fmt"
	"slices"
)

// sincePage is how many ids Since reads a query.
const sincePage = 100

// Since returns the ids in userID's feed newer than afterID, oldest first:
// what a live reader who last saw afterID missed. Ids are time-sortable,
// so "newer" is "greater". It reaches back at most a timeline's length
// (Config.Cap), as far as the timeline does.
func (s *Service) Since(ctx context.Context, userID, afterID int64) ([]int64, error) {
	// From the primary: what the reader missed was announced once it was
	// committed there, and a replica may not have replayed it yet.
	timeline := func(before int64, limit int) ([]int64, error) {
		list, exists, err := s.store.Timeline(ctx, userID, before, limit, true)
		if err != nil || exists {
			return list, err
		}
		if err := s.store.Rebuild(ctx, userID, s.cfg.Threshold, s.cfg.Cap); err != nil {
			return nil, fmt.Errorf("rebuild feed: %w", err)
		}
		list, _, err = s.store.Timeline(ctx, userID, before, limit, true)
		return list, err
	}
	ids, err := newerThan(afterID, s.cfg.Cap, timeline)
	if err != nil {
		return nil, fmt.Errorf("feed since %d: %w", afterID, err)
	}
	celebs, err := s.store.FollowedCelebrities(ctx, userID, s.cfg.Threshold)
	if err != nil {
		return nil, fmt.Errorf("feed since %d: %w", afterID, err)
	}
	for _, a := range celebs {
		more, err := newerThan(afterID, s.cfg.Cap, func(before int64, limit int) ([]int64, error) {
			return s.store.RecentByAuthor(ctx, a, before, limit)
		})
		if err != nil {
			return nil, fmt.Errorf("feed since %d: %w", afterID, err)
		}
		ids = append(ids, more...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > s.cfg.Cap {
		ids = ids[len(ids)-s.cfg.Cap:]
	}
	return ids, nil
}

// newerThan pages through a newest-first list (page(before, limit)) until
// it reaches afterID or capN ids, and returns the ids above afterID.
func newerThan(afterID int64, capN int, page func(before int64, limit int) ([]int64, error)) ([]int64, error) {
	var out []int64
	var before int64
	for len(out) < capN {
		list, err := page(before, sincePage)
		if err != nil {
			return nil, err
		}
		for _, id := range list {
			if id <= afterID {
				return out, nil
			}
			out = append(out, id)
		}
		if len(list) < sincePage {
			break
		}
		before = list[len(list)-1]
	}
	return out, nil
}
