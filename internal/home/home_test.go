package home_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/gateway"
	"github.com/photofeed/photofeed/internal/home"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/identity"
)

// anyToken signs everyone in as user 1.
type anyToken struct{}

func (anyToken) Authenticate(context.Context, string) (identity.Claims, error) {
	return identity.Claims{UserID: 1, SessionID: 1, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (anyToken) Renew(context.Context, identity.Claims) (string, time.Time, error) {
	return "", time.Time{}, nil
}

// api answers the parts; a part named in late waits until its request is
// given up, one in status answers that status.
func api(late string, status map[string]int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer t" {
			http.Error(w, "the part lost the caller's credentials", http.StatusTeapot)
			return
		}
		if r.URL.Path == late {
			<-r.Context().Done()
			return
		}
		if s := status[r.URL.Path]; s != 0 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(s)
			w.Write([]byte(`{"status":` + http.StatusText(s) + `}`))
			return
		}
		switch r.URL.Path {
		case "/v2/me":
			w.Write([]byte(`{"username":"ada"}`))
		case "/v2/feed":
			w.Write([]byte(`{"items":[{"id":"1"}],"limit":"` + r.URL.Query().Get("limit") + `"}`))
		case "/v2/suggestions":
			w.Write([]byte(`{"items":[{"username":"bob"}]}`))
		}
	})
}

// panicking is api whose answer to path panics with v, as the gateway's
// proxy does (http.ErrAbortHandler) when an upstream dies mid-body, or as
// a bug in the gateway's own code would: the part runs in this process.
func panicking(path string, v any) http.Handler {
	next := api("", nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			w.Write([]byte(`{"items":[`))
			panic(v)
		}
		next.ServeHTTP(w, r)
	})
}

func TestHome(t *testing.T) {
	tests := []struct {
		name      string
		api       http.Handler
		query     string
		anonymous bool
		status    int
		want      string // the body's parts present, by name
		warnings  []string
	}{
		{name: "whole", api: api("", nil), query: "?limit=5", status: 200, want: "me feed suggestions"},
		{name: "late suggestions", api: api("/v2/suggestions", nil), status: 200, want: "me feed", warnings: []string{"suggestions: timed out after 50ms"}},
		{name: "failing profile", api: api("", map[string]int{"/v2/me": 500}), status: 200, want: "feed suggestions", warnings: []string{"me: unavailable (500)"}},
		{name: "late feed", api: api("/v2/feed", nil), status: 503},
		{name: "failing feed", api: api("", map[string]int{"/v2/feed": 502}), status: 503},
		{name: "the caller's fault", api: api("", map[string]int{"/v2/feed": 401}), status: 401},
		{name: "suggestions cut off", api: panicking("/v2/suggestions", http.ErrAbortHandler), status: 200, want: "me feed", warnings: []string{"suggestions: answer cut off"}},
		{name: "profile panics", api: panicking("/v2/me", "assignment to entry in nil map"), status: 200, want: "feed suggestions", warnings: []string{"me: failed"}},
		{name: "feed panics", api: panicking("/v2/feed", "assignment to entry in nil map"), status: 503},
		{name: "signed out", api: api("", nil), anonymous: true, status: 401},
		{name: "bad limit", api: api("", nil), query: "?limit=0", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := httpauth.Middleware(anyToken{}, slog.New(slog.DiscardHandler),
				home.New(home.Config{API: tt.api, FeedTimeout: 200 * time.Millisecond, PartTimeout: 50 * time.Millisecond,
					Log: slog.New(slog.DiscardHandler)}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest("GET", srv.URL+"/v2/home"+tt.query, nil)
			if !tt.anonymous {
				req.Header.Set("Authorization", "Bearer t")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type %q: %s", ct, body)
				}
				return
			}
			var got map[string]json.RawMessage
			json.Unmarshal(body, &got)
			var parts []string
			for _, name := range []string{"me", "feed", "suggestions"} {
				if got[name] != nil {
					parts = append(parts, name)
				}
			}
			var warnings []string
			json.Unmarshal(got["warnings"], &warnings)
			if strings.Join(parts, " ") != tt.want || !slices.Equal(warnings, tt.warnings) {
				t.Fatalf("parts %v warnings %q, want %s and %q: %s", parts, warnings, tt.want, tt.warnings, body)
			}
			if tt.query == "?limit=5" && !strings.Contains(string(got["feed"]), `"limit":"5"`) {
				t.Fatalf("the feed's limit was not passed on: %s", got["feed"])
			}
		})
	}
}

// Through the gateway's real proxy: an upstream that dies in the middle of
// the suggestions leaves them out with a warning, and the process serves
// on (the proxy's abort panics in the part's goroutine).
func TestHomeThroughProxyCutUpstream(t *testing.T) {
	answers := api("", nil)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/suggestions" {
			w.Write([]byte(`{"items":[`))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection closes without the final chunk
		}
		answers.ServeHTTP(w, r)
	}))
	defer up.Close()
	gw, err := gateway.New(gateway.Config{Upstreams: []string{up.URL}})
	if err != nil {
		t.Fatal(err)
	}
	h := httpauth.Middleware(anyToken{}, slog.New(slog.DiscardHandler), home.New(home.Config{API: gw}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/v2/home", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Me          json.RawMessage
		Suggestions json.RawMessage
		Warnings    []string
	}
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &got)
	if resp.StatusCode != 200 || got.Me == nil || got.Suggestions != nil || !slices.Equal(got.Warnings, []string{"suggestions: answer cut off"}) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
