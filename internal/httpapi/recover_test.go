package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/httpapi"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
	"github.com/photofeed/photofeed/internal/posts"
	"github.com/photofeed/photofeed/internal/sqlite"
)

// keyStore answers every claim the same way: as new (claimed), or as the
// key of a request that committed, made `made` and lost its answer (a
// crash between the write and the response).
type keyStore struct {
	claimed bool
	made    idempotency.Resource
}

func (s keyStore) Claim(_ context.Context, key, fp string, _ time.Time, _, _ time.Duration) (*idempotency.Record, bool, error) {
	if s.claimed {
		return nil, true, nil
	}
	return &idempotency.Record{Key: key, Fingerprint: fp, State: idempotency.Committed, Resource: s.made}, false, nil
}
func (keyStore) Complete(context.Context, string, idempotency.Response, time.Time) error { return nil }
func (keyStore) Release(context.Context, string) error                                   { return nil }
func (keyStore) DeleteExpired(context.Context, time.Time) (int, error)                   { return 0, nil }

// authorsOf makes the fake identity the posts' author directory.
type authorsOf struct{ id *fakeIdentity }

func (a authorsOf) Authors(ctx context.Context, idList []int64) (map[int64]posts.Author, error) {
	m := map[int64]posts.Author{}
	for _, id := range idList {
		if u, err := a.id.UserByID(ctx, id); err == nil {
			m[id] = posts.Author{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
		}
	}
	return m, nil
}

// recovery is the API over the fakes and a real post service (SQLite)
// holding one post of ann's, with every idempotency key answered by keys.
type recovery struct {
	f    *fakes
	post int64
	h    http.Handler
}

func newRecovery(t *testing.T, keys func(post int64) keyStore) *recovery {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "photofeed.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Identity().CreateUser(t.Context(), ann, "hash", idempotency.Claim{}); err != nil {
		t.Fatal(err) // the post's author, for the store's references
	}
	gen := ids.NewGenerator(nil)
	id, _ := gen.Next(ids.Shard(ann.ID))
	im := posts.Image{Key: "k.jpg", Width: 4, Height: 3}
	p := posts.Post{ID: id, AuthorID: ann.ID, Caption: "at dawn", CreatedAt: ids.Time(id), Status: posts.Ready,
		Images: posts.Images{Thumb: im, Large: im, Original: im}}
	if err := db.Posts().CreatePost(t.Context(), p, idempotency.Claim{}); err != nil {
		t.Fatal(err)
	}
	f := newFakes(t)
	log := slog.New(slog.DiscardHandler)
	api := httpapi.New(httpapi.Deps{Identity: f.id, Graph: f.graph, Jobs: f.jobs, Logger: log,
		Posts:       posts.NewService(db.Posts(), nil, authorsOf{f.id}, gen, posts.Config{Logger: log}),
		Idempotency: &idempotency.Config{Store: keys(id), SpoolDir: t.TempDir(), Scope: func(*http.Request) string { return "test" }}})
	mux := http.NewServeMux()
	api.Register(mux)
	return &recovery{f: f, post: id, h: httpauth.Middleware(f.id, log, mux)}
}

func (rc *recovery) do(method, path, token, key string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(`{"username":"cat","password":"right password"}`))
	r.Header.Set("Content-Type", jsonType)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	rc.h.ServeHTTP(w, r)
	return w
}

// A retried create whose first run committed but whose answer was lost is
// answered with what it made, rendered directly, as its GET route shows
// it in the request's API version: a 201 with its Location, replayed.
func TestRecoveredCreateIsRenderedAsItsGet(t *testing.T) {
	for _, tc := range []struct {
		name     string
		made     func(post int64) idempotency.Resource
		create   string // the POST's path, after the version
		token    string
		location func(post int64) string // after the version
	}{
		{name: "post", create: "/posts", token: annToken,
			made:     posts.Created,
			location: func(post int64) string { return "/posts/" + strconv.FormatInt(post, 10) }},
		{name: "user", create: "/accounts",
			made:     func(int64) idempotency.Resource { return identity.Created("ann") },
			location: func(int64) string { return "/users/ann" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newRecovery(t, func(post int64) keyStore { return keyStore{made: tc.made(post)} })
			bodies := map[string]string{}
			for _, v := range []string{"/v1", "/v2"} {
				loc := v + tc.location(rc.post)
				w := rc.do("POST", v+tc.create, tc.token, `"k"`)
				if w.Code != 201 || w.Header().Get("Location") != loc || w.Header().Get(idempotency.ReplayedHeader) != "true" ||
					w.Header().Get("Content-Type") != "application/json" {
					t.Fatalf("%s: %d, Location %q, replayed %q, %s", v, w.Code, w.Header().Get("Location"), w.Header().Get(idempotency.ReplayedHeader), w.Body)
				}
				get := rc.do("GET", loc, tc.token, "")
				if get.Code != 200 || w.Body.String() != get.Body.String() {
					t.Fatalf("%s: recovered body\n%s\nGET %s answers %d\n%s", v, w.Body, loc, get.Code, get.Body)
				}
				bodies[v] = w.Body.String()
			}
			if bodies["/v1"] == bodies["/v2"] {
				t.Fatalf("v1 and v2 recovered the same body: %s", bodies["/v1"])
			}
		})
	}
}

// A resource gone since its create (or of a kind the API does not know)
// cannot be shown: the retry is told the response was lost.
func TestRecoveredCreateThatCannotBeShown(t *testing.T) {
	for name, made := range map[string]idempotency.Resource{
		"post deleted since":   posts.Created(12345),
		"post id not a number": {Kind: posts.ResourceKind, ID: "x"},
		"user gone":            identity.Created("nobody"),
		"unknown kind":         {Kind: "album", ID: "1"},
	} {
		t.Run(name, func(t *testing.T) {
			w := newRecovery(t, func(int64) keyStore { return keyStore{made: made} }).do("POST", "/v2/posts", annToken, `"k"`)
			if w.Code != 409 || problemOf(t, w).Type != "/problems/idempotency-response-lost" {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
		})
	}
}

// A keyed create hands its claim on the key, scoped to its sender, method
// and path, to the service; an unkeyed one hands the zero claim.
func TestCreatePassesTheClaimOn(t *testing.T) {
	rc := newRecovery(t, func(int64) keyStore { return keyStore{claimed: true} })
	for _, key := range []string{`"k"`, ""} {
		if w := rc.do("POST", "/v2/accounts", "", key); w.Code != 201 {
			t.Fatalf("sign up with key %q: %d %s", key, w.Code, w.Body)
		}
		delete(rc.f.id.users, "cat")
	}
	want := []idempotency.Claim{{Key: "test POST /v2/accounts k"}, {}}
	if len(rc.f.id.claims) != 2 || rc.f.id.claims[0] != want[0] || rc.f.id.claims[1] != want[1] {
		t.Fatalf("claims %+v, want %+v", rc.f.id.claims, want)
	}
}
