package capacity

import (
	"errors"
	"math"
)

// Inputs are the workload figures an estimate starts from.
type Inputs struct {
	DAU            float64   // daily active users
	ActionsPerDay  float64   // requests per user per day
	ReadWriteRatio float64   // reads per write
	PeakFactor     float64   // peak QPS over average
	UploadsPerDay  float64   // photos stored per day
	PhotoSize      float64   // bytes, average original
	ThumbSizes     []float64 // bytes of each derived variant stored beside the original
	RetentionDays  float64
	ResponseSize   float64 // bytes, average response
	Replication    float64 // stored copies of each blob
	Availability   float64 // target, percent
}

// SeedInputs are the system-design primer's worked example (the one
// photofeed is sized against, docs/architecture.md): 100M DAU × 5 actions,
// 10M photos a day of 500 KB kept a year, 200 KB responses. The figures it
// does not give carry common defaults: reads 10:1 (its read-heavy case), peak 2× average, variants of 30 KB and 150 KB (a 320 px
// thumb and a 1080 px large), one stored copy, a four-nines target.
func SeedInputs() Inputs {
	return Inputs{
		DAU: 100e6, ActionsPerDay: 5, ReadWriteRatio: 10, PeakFactor: 2,
		UploadsPerDay: 10e6, PhotoSize: 500e3, ThumbSizes: []float64{30e3, 150e3},
		RetentionDays: 365, ResponseSize: 200e3, Replication: 1, Availability: 99.99,
	}
}

// Validate reports the first input out of range.
func (in Inputs) Validate() error {
	switch {
	case in.DAU <= 0:
		return errors.New("dau must be positive")
	case in.ActionsPerDay <= 0:
		return errors.New("actions-per-day must be positive")
	case in.ReadWriteRatio < 0:
		return errors.New("read-write-ratio must not be negative")
	case in.PeakFactor < 1:
		return errors.New("peak-factor must be at least 1")
	case in.UploadsPerDay < 0:
		return errors.New("uploads-per-day must not be negative")
	case in.PhotoSize < 0 || in.ResponseSize < 0:
		return errors.New("sizes must not be negative")
	case in.RetentionDays <= 0:
		return errors.New("retention must be positive")
	case in.Replication < 1:
		return errors.New("replication must be at least 1")
	case in.Availability <= 0 || in.Availability >= 100:
		return errors.New("availability must be between 0 and 100 percent")
	}
	for _, t := range in.ThumbSizes {
		if t < 0 {
			return errors.New("thumb sizes must not be negative")
		}
	}
	return nil
}

// Estimate is the back-of-envelope result.
type Estimate struct {
	QPS          float64 `json:"qps"`            // DAU × actions / 86,400
	PeakQPS      float64 `json:"peak_qps"`       // QPS × peak factor
	ReadQPS      float64 `json:"read_qps"`       // QPS × r / (r + 1)
	WriteQPS     float64 `json:"write_qps"`      // QPS / (r + 1)
	StoragePerYr float64 `json:"storage_bytes"`  // uploads/day × photo size × retention days
	Bandwidth    float64 `json:"bandwidth_bps"`  // QPS × response size, bytes per second
	UploadsPerS  float64 `json:"uploads_per_s"`  // uploads/day / 86,400
	PeakUploadsS float64 `json:"peak_uploads_s"` // × peak factor
}

const secondsPerDay = 86400

// Estimate applies the system-design primer's three formulas (QPS, storage,
// bandwidth), and splits and peaks them.
func (in Inputs) Estimate() Estimate {
	qps := in.DAU * in.ActionsPerDay / secondsPerDay
	return Estimate{
		QPS:          qps,
		PeakQPS:      qps * in.PeakFactor,
		ReadQPS:      qps * in.ReadWriteRatio / (in.ReadWriteRatio + 1),
		WriteQPS:     qps / (in.ReadWriteRatio + 1),
		StoragePerYr: in.UploadsPerDay * in.PhotoSize * in.RetentionDays,
		Bandwidth:    qps * in.ResponseSize,
		UploadsPerS:  in.UploadsPerDay / secondsPerDay,
		PeakUploadsS: in.UploadsPerDay / secondsPerDay * in.PeakFactor,
	}
}

// ceil rounds up, treating values within a part per billion of an integer
// as that integer, so 3.0000000001 nodes stays 3.
func ceil(v float64) float64 {
	r := math.Round(v)
	if math.Abs(v-r) < 1e-9*math.Max(1, math.Abs(v)) {
		return r
	}
	return math.Ceil(v)
}
