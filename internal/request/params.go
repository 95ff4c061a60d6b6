package request

import (
	"fmt"
	"net/http"
	"strconv"
)

// PathID parses the decimal id in path value name.
func PathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, malformed("bad id in path", map[string]string{name: "must be a positive decimal integer"})
	}
	return id, nil
}

// Page parses ?page=&limit= for offset pagination: page from 1 (the
// default) to 1,000,000, limit from 1 to 100 (default 20).
func Page(r *http.Request) (page, limit int, err error) {
	fields := map[string]string{}
	page, limit = 1, 20
	q := r.URL.Query()
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			fields["page"] = "must be an integer from 1 to 1000000"
		}
		page = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			fields["limit"] = "must be an integer from 1 to 100"
		}
		limit = n
	}
	if len(fields) > 0 {
		return 0, 0, malformed("bad pagination parameters", fields)
	}
	return page, limit, nil
}

// Limit parses ?limit= from 1 to most, def when absent.
func Limit(r *http.Request, def, most int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > most {
		return 0, malformed("bad limit", map[string]string{"limit": fmt.Sprintf("must be an integer from 1 to %d", most)})
	}
	return n, nil
}
