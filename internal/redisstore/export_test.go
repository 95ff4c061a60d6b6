package redisstore

import "context"

// AddTo and RemoveFrom are the fan-out's writes without the write model's
// lookups and offsets, for tests of the packed layout.
func (t *Timelines) AddTo(ctx context.Context, users, postIDs []int64, capN int) error {
	return t.addTo(ctx, users, postIDs, capN)
}

func (t *Timelines) RemoveFrom(ctx context.Context, users, postIDs []int64) error {
	return t.removeFrom(ctx, users, postIDs)
}

// Key is the user's packed timeline.
func (t *Timelines) Key(userID int64) string {
	timeline, _ := t.keys(userID)
	return timeline
}
