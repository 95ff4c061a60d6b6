package sqlstore

import "time"

// Times are stored as milliseconds since the Unix epoch in integer
// columns, on both databases.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
