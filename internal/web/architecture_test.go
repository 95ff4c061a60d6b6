package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/topology"
	"github.com/photofeed/photofeed/internal/web"
)

// fakeArchitecture draws one api node up, one lost, a worker and the
// primary database.
type fakeArchitecture struct{}

func (fakeArchitecture) View(context.Context) topology.View {
	return topology.View{At: time.Now(), Seen: "127.0.0.1:8080",
		Nodes: []topology.Node{
			{Beat: topology.Beat{Node: "n1", Roles: []string{"api"}, Addr: "127.0.0.1:8080"}, State: topology.Up,
				Facts: []topology.Fact{{Label: "requests/s", Value: "41.5"}}},
			{Beat: topology.Beat{Node: "n2", Roles: []string{"api"}, Addr: "127.0.0.1:8081"}, State: topology.Lost},
			{Beat: topology.Beat{Node: "n3", Roles: []string{"worker"}, Addr: "127.0.0.1:8082"}, State: topology.Up},
		},
		Engines: []topology.Engine{{ID: "db-primary", Kind: "db", Name: "PostgreSQL primary", State: topology.EngineUp}},
	}
}

func withArchitecture(f *fakes) { f.deps = func(d *web.Deps) { d.Architecture = fakeArchitecture{} } }

func asAdmin(f *fakes) {
	withArchitecture(f)
	a := f.id.users["ann"]
	a.Admin = true
	f.id.users["ann"] = a
}

// The architecture page is for administrators only: others are sent to
// log in or refused, and a node without the page has no such route.
func TestArchitecturePage(t *testing.T) {
	runPages(t, []pageCase{
		{name: "admin", visit: get("/admin/architecture", annSession), setup: asAdmin, status: 200,
			shows: []string{`<a href="/admin/architecture">Architecture</a>`, `data-addr="127.0.0.1:8081" data-state="lost"`, `data-addr="127.0.0.1:8080" data-state="up"`,
				"41.5", "PostgreSQL primary", `data-stream="/admin/architecture/events"`, `/architecture.js" defer`}},
		{name: "not an admin", visit: get("/admin/architecture", annSession), setup: withArchitecture, status: 403,
			hides: []string{"127.0.0.1:8081", `href="/admin/architecture"`}},
		{name: "an admin's header links to it", visit: get("/", annSession), setup: asAdmin, status: 200,
			shows: []string{`<a href="/admin/architecture">Architecture</a>`}},
		{name: "logged out", visit: get("/admin/architecture", ""), setup: withArchitecture, status: 303,
			location: "/login?next=%2Fadmin%2Farchitecture"},
		{name: "events, not an admin", visit: get("/admin/architecture/events", annSession), setup: withArchitecture, status: 403,
			hides: []string{"127.0.0.1:8081"}},
		{name: "events, logged out", visit: get("/admin/architecture/events", ""), setup: withArchitecture, status: 303,
			location: "/login?next=%2Fadmin%2Farchitecture%2Fevents"},
		{name: "no architecture on this node", visit: get("/admin/architecture", annSession), setup: func(f *fakes) {
			asAdmin(f)
			f.deps = nil
		}, status: 404},
	})
}

// The stream sends the view as JSON events, over a real connection,
// until the reader goes.
func TestArchitectureEvents(t *testing.T) {
	f := newFakes()
	asAdmin(f)
	resp := openArchitectureEvents(t, f)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Two events: the first at once, the next a tick later.
	buf := make([]byte, 0, 8192)
	var events []string
	for len(events) < 3 {
		chunk := make([]byte, 4096)
		n, err := resp.Body.Read(chunk)
		if err != nil {
			t.Fatalf("after %d events: %v", len(events)-1, err)
		}
		buf = append(buf, chunk[:n]...)
		events = strings.Split(string(buf), "\n\n")
	}
	for _, ev := range events[:2] {
		data, ok := strings.CutPrefix(ev, "event: view\ndata: ")
		if !ok {
			t.Fatalf("event %q", ev)
		}
		var v topology.View
		if err := json.Unmarshal([]byte(data), &v); err != nil {
			t.Fatal(err)
		}
		if len(v.Nodes) != 3 || v.Nodes[1].State != topology.Lost || v.Nodes[1].Addr != "127.0.0.1:8081" {
			t.Fatalf("view %+v", v)
		}
	}
}

// A stream ends by itself once its life is over, the client having sent
// nothing: a clean end of the response, which the page's EventSource
// answers by reconnecting, its admin check made again.
func TestArchitectureEventsEndAfterTheirLife(t *testing.T) {
	const life = 300 * time.Millisecond
	f := newFakes()
	asAdmin(f)
	f.deps = func(d *web.Deps) { d.Architecture, d.ArchitectureStreamLife = fakeArchitecture{}, life }
	start := time.Now()
	resp := openArchitectureEvents(t, f)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Read to the end: the client's deadline above fails the read if the
	// server does not end the stream.
	body, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("stream did not end within %s: %v after %s", 10*time.Second, err, took)
	}
	if took < life {
		t.Errorf("stream ended after %s, before its life of %s", took, life)
	}
	if n := strings.Count(string(body), "event: view\n"); n < 1 {
		t.Errorf("stream ended with %d view events, want at least the first", n)
	}
}

// openArchitectureEvents opens the architecture stream as Ann, an admin,
// on a real server: the body is closed, and the server stopped, when the
// test ends; reads give up after 10 s.
func openArchitectureEvents(t *testing.T, f *fakes) *http.Response {
	t.Helper()
	srv := httptest.NewServer(f.handler(t))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/admin/architecture/events", nil)
	req.AddCookie(&http.Cookie{Name: httpauth.CookieName, Value: annSession})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
