package jobs

import (
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/photofeed/photofeed/resilience"
)

// RetryPolicy schedules a failed job's next attempt by exponential backoff
// with jitter (resilience.Backoff), min(base·2^attempt + random(0, base),
// max), counted from when the attempt ran.
type RetryPolicy struct {
	Backoff resilience.Backoff
}

func (p RetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	at := time.Now()
	if job.AttemptedAt != nil {
		at = *job.AttemptedAt
	}
	return at.Add(p.Backoff.Delay(max(0, job.Attempt-1)))
}
