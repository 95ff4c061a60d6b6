package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/internal/graph"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/jobs"
)

// Handlers are tested here against fakes of the services they ask for,
// behind the real routes and authentication middleware: each route's
// status codes without a database. End-to-end behaviour is tested in
// internal/app.

// The fakes know three users, ann (1), bob (2) and root (3, an
// administrator); ann's bearer token is annToken, for session 7, and
// root's is rootToken.
const (
	annToken  = "ann-token"
	rootToken = "root-token"
)

var (
	ann  = identity.User{ID: 1, Username: "ann", DisplayName: "Ann", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	bob  = identity.User{ID: 2, Username: "bob", DisplayName: "Bob", CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	root = identity.User{ID: 3, Username: "root", DisplayName: "Root", Admin: true}
)

type fakeIdentity struct {
	users map[string]identity.User
	// err, if set, is what the named method fails with.
	err       map[string]error
	loggedOut []int64
	claims    []idempotency.Claim // Register's, in call order
}

func newFakeIdentity() *fakeIdentity {
	return &fakeIdentity{users: map[string]identity.User{"ann": ann, "bob": bob, "root": root}, err: map[string]error{}}
}

func (f *fakeIdentity) Register(_ context.Context, username, password, displayName string, claim idempotency.Claim) (identity.User, error) {
	f.claims = append(f.claims, claim)
	if err := f.err["Register"]; err != nil {
		return identity.User{}, err
	}
	if _, ok := f.users[username]; ok {
		return identity.User{}, identity.ErrUsernameTaken
	}
	u := identity.User{ID: int64(len(f.users) + 1), Username: username, DisplayName: displayName}
	f.users[username] = u
	return u, nil
}

func (f *fakeIdentity) Login(_ context.Context, username, password string) (string, identity.Session, error) {
	if err := f.err["Login"]; err != nil {
		return "", identity.Session{}, err
	}
	u, ok := f.users[username]
	if !ok || password != "right password" {
		return "", identity.Session{}, identity.ErrBadCredentials
	}
	return username + "-token", identity.Session{ID: 7, UserID: u.ID, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (f *fakeIdentity) Logout(_ context.Context, sessionID int64) error {
	if err := f.err["Logout"]; err != nil {
		return err
	}
	f.loggedOut = append(f.loggedOut, sessionID)
	return nil
}

func (f *fakeIdentity) UserByID(_ context.Context, id int64) (identity.User, error) {
	for _, u := range f.users {
		if u.ID == id {
			return u, nil
		}
	}
	return identity.User{}, identity.ErrUserNotFound
}

func (f *fakeIdentity) UserByUsername(_ context.Context, username string) (identity.User, error) {
	if u, ok := f.users[username]; ok {
		return u, nil
	}
	return identity.User{}, identity.ErrUserNotFound
}

func (f *fakeIdentity) UsersByIDs(ctx context.Context, ids []int64) (map[int64]identity.User, error) {
	if err := f.err["UsersByIDs"]; err != nil {
		return nil, err
	}
	m := map[int64]identity.User{}
	for _, id := range ids {
		if u, err := f.UserByID(ctx, id); err == nil {
			m[id] = u
		}
	}
	return m, nil
}

// Authenticate and Renew make fakeIdentity the auth middleware's
// authenticator too: annToken is ann's session 7, anything else is refused.
func (f *fakeIdentity) Authenticate(_ context.Context, token string) (identity.Claims, error) {
	switch token {
	case annToken:
		return identity.Claims{UserID: ann.ID, SessionID: 7, ExpiresAt: time.Now().Add(time.Hour)}, nil
	case rootToken:
		return identity.Claims{UserID: root.ID, SessionID: 8, ExpiresAt: time.Now().Add(time.Hour)}, nil
	}
	return identity.Claims{}, identity.ErrSessionInvalidated
}

func (f *fakeIdentity) Renew(context.Context, identity.Claims) (string, time.Time, error) {
	return "", time.Time{}, nil
}

// fakeGraph keeps follows as a set of (follower, followee) pairs.
type fakeGraph struct {
	follows map[[2]int64]bool
	// err, if set, is what the named method fails with.
	err map[string]error
}

func newFakeGraph() *fakeGraph {
	return &fakeGraph{follows: map[[2]int64]bool{}, err: map[string]error{}}
}

func (g *fakeGraph) Follow(_ context.Context, follower, followee int64) error {
	if err := g.err["Follow"]; err != nil {
		return err
	}
	if follower == followee {
		return graph.ErrSelfFollow
	}
	g.follows[[2]int64{follower, followee}] = true
	return nil
}

func (g *fakeGraph) Unfollow(_ context.Context, follower, followee int64) error {
	delete(g.follows, [2]int64{follower, followee})
	return nil
}

func (g *fakeGraph) Counts(_ context.Context, userID int64) (graph.Counts, error) {
	if err := g.err["Counts"]; err != nil {
		return graph.Counts{}, err
	}
	var c graph.Counts
	for p := range g.follows {
		if p[0] == userID {
			c.Following++
		}
		if p[1] == userID {
			c.Followers++
		}
	}
	return c, nil
}

func (g *fakeGraph) Followers(_ context.Context, userID int64, offset, limit int) ([]int64, int64, error) {
	if err := g.err["Followers"]; err != nil {
		return nil, 0, err
	}
	return g.page(userID, 1, 0, offset, limit)
}

func (g *fakeGraph) Following(_ context.Context, userID int64, offset, limit int) ([]int64, int64, error) {
	return g.page(userID, 0, 1, offset, limit)
}

func (g *fakeGraph) Suggestions(_ context.Context, userID int64, limit int) ([]int64, error) {
	return nil, nil
}

func (g *fakeGraph) page(userID int64, match, other, offset, limit int) ([]int64, int64, error) {
	var all []int64
	for p := range g.follows {
		if p[match] == userID {
			all = append(all, p[other])
		}
	}
	total := int64(len(all))
	all = all[min(offset, len(all)):]
	return all[:min(limit, len(all))], total, nil
}

// fakeJobs holds jobs by id, all in the main database.
type fakeJobs struct {
	jobs    map[int64]jobs.Job
	retried []int64
	listed  []string // "state limit" per List call
}

func (j *fakeJobs) List(_ context.Context, state string, limit int) ([]jobs.Job, error) {
	j.listed = append(j.listed, fmt.Sprint(state, " ", limit))
	var out []jobs.Job
	for _, job := range j.jobs {
		if job.State == state && len(out) < limit {
			out = append(out, job)
		}
	}
	return out, nil
}

func (j *fakeJobs) Retry(_ context.Context, database string, id int64) (jobs.Job, error) {
	job, ok := j.jobs[id]
	if !ok || database != "" {
		return jobs.Job{}, jobs.ErrNotFound
	}
	j.retried = append(j.retried, id)
	job.State = "available"
	j.jobs[id] = job
	return job, nil
}

// fakes is a test's services and the API served from them.
type fakes struct {
	id    *fakeIdentity
	graph *fakeGraph
	jobs  *fakeJobs
	posts *fakePosts
	feed  *fakeFeed
	// search answers every search (search.Unavailable through deps for none).
	search *fakeSearch
	// deps, if set, adjusts the API's dependencies before it is built.
	deps func(*httpapi.Deps)
	h    http.Handler
}

// testUploadLimit keeps the upload limit small enough to pass in a test.
const testUploadLimit = 64 << 10

func newFakes(t *testing.T) *fakes {
	t.Helper()
	f := &fakes{id: newFakeIdentity(), graph: newFakeGraph(),
		jobs: &fakeJobs{jobs: map[int64]jobs.Job{41: {ID: 41, Kind: "thumbnails", State: "discarded"}}}}
	f.posts = newFakePosts(f.id)
	f.feed = &fakeFeed{posts: f.posts, ids: []int64{bobsPost.ID, annsPost.ID}, next: "older-than-11"}
	f.search = &fakeSearch{posts: []int64{bobsPost.ID}, users: []int64{bob.ID, 99}}
	return f
}

// handler builds the API from the fakes as a test's setup left them.
func (f *fakes) handler() http.Handler {
	if f.h != nil {
		return f.h
	}
	log := slog.New(slog.DiscardHandler)
	deps := httpapi.Deps{Identity: f.id, Graph: f.graph, Jobs: f.jobs, Posts: f.posts, Feed: f.feed, Search: f.search, Logger: log,
		MaxUploadBytes: testUploadLimit, UploadWait: 3 * time.Second, MediaBaseURL: "https://cdn.example"}
	if f.deps != nil {
		f.deps(&deps)
	}
	api := httpapi.New(deps)
	mux := http.NewServeMux()
	api.Register(mux)
	f.h = httpauth.Middleware(f.id, log, mux)
	return f.h
}

// call is one request to the API: token "" is anonymous.
type call struct {
	method, path, token, contentType, body string
}

func (f *fakes) do(c call) *httptest.ResponseRecorder { return f.doKeyed(c, "") }

// doKeyed is do with an Idempotency-Key header, unless key is "".
func (f *fakes) doKeyed(c call, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	if key != "" {
		r.Header.Set(idempotency.KeyHeader, key)
	}
	if c.contentType != "" {
		r.Header.Set("Content-Type", c.contentType)
	}
	if c.token != "" {
		r.Header.Set("Authorization", "Bearer "+c.token)
	}
	w := httptest.NewRecorder()
	f.handler().ServeHTTP(w, r)
	return w
}

var errStoreDown = errors.New("store: connection refused")
