package app_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

func TestAdminJobs(t *testing.T) {
	s := start(t)
	c := s.client(t)
	c.signup("root_user")
	c.do("GET", "/v1/admin/jobs", nil).problem(t, 403)
	s.client(t).do("GET", "/v1/admin/jobs", nil).problem(t, 401)

	var out bytes.Buffer
	run := func(args ...string) error {
		out.Reset()
		return app.Run(context.Background(), append(args, "--data-dir", s.DataDir), func(k string) string {
			if k == "PHOTOFEED_DB" {
				return s.DB
			}
			return ""
		}, &out, &out)
	}
	if err := run("users", "grant-admin", "root_user"); err != nil || !strings.Contains(out.String(), "admin=true") {
		t.Fatalf("grant-admin: %v %s", err, out.String())
	}
	if err := run("users", "grant-admin", "nobody"); err == nil {
		t.Fatal("grant-admin of an unknown user succeeded")
	}
	var list struct {
		Items []struct{ ID, Kind, Queue, State string }
	}
	testenv.Eventually(t, "the periodic cleanups completed", 15*time.Second, func() bool {
		c.do("GET", "/v1/admin/jobs?state=completed", nil).json(t, &list)
		return len(list.Items) >= 4
	})
	if it := list.Items[0]; it.Kind != "cleanup" || it.Queue != "maintenance" || it.State != "completed" {
		t.Fatalf("job %+v", it)
	}
	r := c.do("GET", "/v1/admin/jobs", nil) // discarded by default: none
	r.json(t, &list)
	if r.StatusCode != 200 || len(list.Items) != 0 {
		t.Fatalf("dead letters: %d %s", r.StatusCode, r.Body)
	}
	c.do("GET", "/v1/admin/jobs?state=exploded", nil).problem(t, 400)
	c.do("POST", "/v1/admin/jobs/999999/retry", nil).problem(t, 404)

	if err := run("jobs", "list", "--state", "completed"); err != nil || !strings.Contains(out.String(), "cleanup") ||
		!strings.Contains(out.String(), "maintenance") {
		t.Fatalf("jobs list: %v\n%s", err, out.String())
	}
	if err := run("jobs", "retry", "x"); err == nil || !strings.Contains(err.Error(), "not a job id") {
		t.Fatalf("jobs retry x: %v", err)
	}
}
