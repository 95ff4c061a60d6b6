package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// orphanError is the attempt error a rescued job carries.
const orphanError = "its process ended while the job ran; run again when the node restarted"

// RescueOrphans makes every job marked running available again at once,
// rather than after RescueAfter, and returns how many it rescued. A job out
// of attempts is discarded instead: one that kills its process every time
// it runs must not crash-loop the node for ever. The dead run's leadership
// is given up too, so the periodic jobs start without waiting for it to
// expire.
//
// It is for a node that knows it is the only one on its database and has
// not started working jobs yet: then every running job belongs to a
// process that is gone. Anywhere else it would run live jobs twice.
//
// It goes through River's driver, as River's own rescuer does, and records
// the rescue the same way (an attempt error, the rescue count).
func (c *Client) RescueOrphans(ctx context.Context) (int, error) {
	exec := c.river.Driver().GetExecutor()
	now := time.Now().UTC()
	// Every running job is an orphan here, however recent its attempt
	// (clock steps included).
	horizon := now.Add(24 * time.Hour)
	rescued := 0
	var after int64
	for {
		const batch = 500
		stuck, err := exec.JobGetStuck(ctx, &riverdriver.JobGetStuckParams{AfterID: after, Max: batch, StuckHorizon: horizon})
		if err != nil {
			return rescued, fmt.Errorf("rescue orphaned jobs: %w", err)
		}
		if len(stuck) == 0 {
			break
		}
		p := &riverdriver.JobRescueManyParams{StuckHorizon: horizon}
		for _, j := range stuck {
			after = j.ID
			e, err := json.Marshal(rivertype.AttemptError{At: now, Attempt: max(j.Attempt, 0), Error: orphanError})
			if err != nil {
				return rescued, fmt.Errorf("rescue orphaned jobs: %w", err)
			}
			state, finalized := rivertype.JobStateAvailable, (*time.Time)(nil)
			if j.Attempt >= j.MaxAttempts {
				state, finalized = rivertype.JobStateDiscarded, &now
			}
			p.ID = append(p.ID, j.ID)
			p.Error = append(p.Error, e)
			p.FinalizedAt = append(p.FinalizedAt, finalized)
			p.ScheduledAt = append(p.ScheduledAt, now)
			p.State = append(p.State, string(state))
		}
		if _, err := exec.JobRescueMany(ctx, p); err != nil {
			return rescued, fmt.Errorf("rescue orphaned jobs: %w", err)
		}
		rescued += len(stuck)
		if len(stuck) < batch {
			break
		}
	}
	leader, err := exec.LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{})
	if errors.Is(err, rivertype.ErrNotFound) {
		return rescued, nil
	}
	if err != nil {
		return rescued, fmt.Errorf("dead leader: %w", err)
	}
	if _, err := exec.LeaderResign(ctx, &riverdriver.LeaderResignParams{LeaderID: leader.LeaderID, ElectedAt: leader.ElectedAt}); err != nil {
		return rescued, fmt.Errorf("resign the dead leader: %w", err)
	}
	return rescued, nil
}
