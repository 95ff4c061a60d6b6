package chaos

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AuditResult is the end state, read back through the API (and the
// database and the media directory, when given), after the deployment
// was given Settle to converge.
type AuditResult struct {
	AckedPosts   int `json:"acked_posts"`
	AckedLikes   int `json:"acked_likes"`
	AckedFollows int `json:"acked_follows"`
	// Each list names what is wrong, empty when all is well.
	MissingPosts   []string `json:"missing_posts"`     // acknowledged uploads not found
	DuplicatePosts []string `json:"duplicate_posts"`   // an upload key that made more than one post
	NotReady       []string `json:"not_ready"`         // posts not "ready" after Settle
	MissingLikes   []string `json:"missing_likes"`     // acknowledged likes the post does not show
	MissingFollows []string `json:"missing_follows"`   // acknowledged follows the following list lacks
	FeedStrangers  []string `json:"feed_strangers"`    // feed items by someone the reader does not follow
	FeedMissing    []string `json:"feed_missing"`      // a followee's post, made after the follow, not in the feed
	OrphanedBlobs  []string `json:"orphaned_blobs"`    // files no post refers to
	JobsLeft       []string `json:"jobs_left"`         // jobs running, waiting or discarded after Settle
	Skipped        []string `json:"skipped,omitempty"` // checks not made, and why
	Errors         []string `json:"errors,omitempty"`  // the audit's own failures to read
	SettledAfterMS int64    `json:"settled_after_ms"`
	// FirstLook is what the first pass found, right after the workload:
	// what took SettledAfterMS to come right.
	FirstLook []string `json:"first_look,omitempty"`
}

func (a *AuditResult) problems() []string {
	var out []string
	add := func(what string, list []string) {
		if len(list) > 0 {
			out = append(out, fmt.Sprintf("%s: %d, e.g. %v", what, len(list), list[:min(3, len(list))]))
		}
	}
	add("acknowledged posts missing", a.MissingPosts)
	add("upload keys that made more than one post", a.DuplicatePosts)
	add("posts not ready", a.NotReady)
	add("acknowledged likes missing", a.MissingLikes)
	add("acknowledged follows missing", a.MissingFollows)
	add("feed items by someone not followed", a.FeedStrangers)
	add("followees' posts missing from feeds", a.FeedMissing)
	add("orphaned blobs", a.OrphanedBlobs)
	add("jobs left", a.JobsLeft)
	add("audit could not read", a.Errors)
	return out
}

// listedPost is a post as the audit reads it.
type listedPost struct {
	ID        string    `json:"id"`
	Caption   string    `json:"caption"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`
	LikedByMe bool      `json:"liked_by_me"`
	Author    struct {
		Username string `json:"username"`
	} `json:"author"`
	Images *struct {
		Thumb, Large, Original string
	} `json:"images"`
}

// audit waits up to Settle for the end state to be right, then reports
// what is still wrong. Writes are final once acknowledged, so what is
// missing at the end of Settle is lost, not late.
func audit(ctx context.Context, cfg Config, w *workload) *AuditResult {
	start := time.Now()
	deadline := start.Add(cfg.Settle)
	var a *AuditResult
	var first []string
	for pass := 0; ; pass++ {
		a = auditOnce(ctx, cfg, w)
		if pass == 0 {
			first = a.problems()
		}
		if len(a.problems()) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	a.SettledAfterMS = time.Since(start).Milliseconds()
	a.FirstLook = first
	return a
}

func auditOnce(ctx context.Context, cfg Config, w *workload) *AuditResult {
	w.mu.Lock()
	posts, likes, follows := slices.Clone(w.posts), slices.Clone(w.likes), slices.Clone(w.follows)
	w.mu.Unlock()
	a := &AuditResult{AckedPosts: len(posts), AckedLikes: len(likes), AckedFollows: len(follows)}
	r := auditReader{c: w.caller, ctx: ctx, a: a}

	// Every author's posts, all pages: each key's posts counted.
	byKey := map[string][]listedPost{}
	all := map[string]listedPost{}
	for _, u := range w.users {
		for _, p := range r.userPosts(u.name) {
			byKey[p.Caption] = append(byKey[p.Caption], p)
			all[p.ID] = p
		}
	}
	for _, p := range posts {
		got := byKey[p.Key]
		if !slices.ContainsFunc(got, func(l listedPost) bool { return l.ID == p.ID }) {
			a.MissingPosts = append(a.MissingPosts, p.Key+" → "+p.ID)
		}
	}
	for key, got := range byKey {
		if len(got) > 1 {
			a.DuplicatePosts = append(a.DuplicatePosts, fmt.Sprintf("%s ×%d", key, len(got)))
		}
	}
	for _, p := range all {
		if p.Status != "ready" {
			a.NotReady = append(a.NotReady, p.ID+" "+p.Status)
		}
	}

	// Likes: the liker sees liked_by_me.
	tokens := map[string]string{}
	for _, u := range w.users {
		tokens[u.name] = u.token
	}
	seen := map[[2]string]bool{}
	for _, l := range likes {
		if seen[[2]string{l.From, l.To}] {
			continue
		}
		seen[[2]string{l.From, l.To}] = true
		var p listedPost
		if r.get("/v1/posts/"+l.To, tokens[l.From], &p) && !p.LikedByMe {
			a.MissingLikes = append(a.MissingLikes, l.From+" → "+l.To)
		}
	}

	// Follows, and the feeds against the graph as the API tells it.
	following := map[string]map[string]bool{}
	for _, u := range w.users {
		following[u.name] = map[string]bool{}
		for _, f := range r.following(u.name) {
			following[u.name][f] = true
		}
	}
	followedAt := map[[2]string]time.Time{}
	for _, f := range follows {
		if !following[f.From][f.To] {
			a.MissingFollows = append(a.MissingFollows, f.From+" → "+f.To)
		}
		if _, ok := followedAt[[2]string{f.From, f.To}]; !ok {
			followedAt[[2]string{f.From, f.To}] = f.At
		}
	}
	for _, u := range w.users {
		feed := r.feed(u.token)
		inFeed := map[string]bool{}
		for _, p := range feed {
			inFeed[p.ID] = true
			if p.Author.Username != u.name && !following[u.name][p.Author.Username] {
				a.FeedStrangers = append(a.FeedStrangers, u.name+" sees "+p.ID+" by "+p.Author.Username)
			}
		}
		for _, p := range all {
			at, ok := followedAt[[2]string{u.name, p.Author.Username}]
			if ok && p.CreatedAt.After(at) && !inFeed[p.ID] {
				a.FeedMissing = append(a.FeedMissing, u.name+" lacks "+p.ID+" by "+p.Author.Username)
			}
		}
	}

	if cfg.MediaDir == "" {
		a.Skipped = append(a.Skipped, "orphaned blobs: no media directory given")
	} else {
		a.OrphanedBlobs = orphans(cfg.MediaDir, all, &a.Errors)
	}
	if cfg.DB == "" {
		a.Skipped = append(a.Skipped, "jobs: no database given")
	} else {
		a.JobsLeft = jobsLeft(ctx, cfg.DB, &a.Errors)
		for i, p := range a.NotReady {
			id, _, _ := strings.Cut(p, " ")
			a.NotReady[i] += " (" + thumbnailJobs(ctx, cfg.DB, id) + ")"
		}
	}
	return a
}

// auditReader reads the API for the audit, noting what it could not.
type auditReader struct {
	c   *caller
	ctx context.Context
	a   *AuditResult
}

func (r auditReader) get(p, token string, v any) bool {
	o := r.c.do(r.ctx, request{op: "audit", method: "GET", path: p, token: token, want: 200})
	if !o.ok {
		r.a.Errors = append(r.a.Errors, fmt.Sprintf("GET %s: %d %s", p, o.status, truncate(o.body)))
		return false
	}
	if err := o.decode(v); err != nil {
		r.a.Errors = append(r.a.Errors, err.Error())
		return false
	}
	return true
}

func (r auditReader) userPosts(name string) []listedPost {
	var out []listedPost
	for page := 1; ; page++ {
		var p struct {
			Items []listedPost `json:"items"`
			Total int          `json:"total"`
		}
		if !r.get("/v1/users/"+name+"/posts?limit=100&page="+strconv.Itoa(page), "", &p) {
			return out
		}
		out = append(out, p.Items...)
		if len(p.Items) == 0 || len(out) >= p.Total {
			return out
		}
	}
}

func (r auditReader) following(name string) []string {
	var out []string
	for page := 1; ; page++ {
		var p struct {
			Items []struct{ Username string } `json:"items"`
			Total int                         `json:"total"`
		}
		if !r.get("/v1/users/"+name+"/following?limit=100&page="+strconv.Itoa(page), "", &p) {
			return out
		}
		for _, u := range p.Items {
			out = append(out, u.Username)
		}
		if len(p.Items) == 0 || len(out) >= p.Total {
			return out
		}
	}
}

func (r auditReader) feed(token string) []listedPost {
	var out []listedPost
	cursor := ""
	for range 100 { // a bound, should the cursor never end
		q := url.Values{"limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var p struct {
			Items      []listedPost `json:"items"`
			NextCursor string       `json:"next_cursor"`
		}
		if !r.get("/v1/feed?"+q.Encode(), token, &p) {
			return out
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" || len(p.Items) == 0 {
			return out
		}
		cursor = p.NextCursor
	}
	return out
}

// mediaKey is the blob key of a /media/{key} URL.
func mediaKey(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return path.Base(p.Path)
}

func (a *AuditResult) print(out io.Writer) {
	fmt.Fprintf(out, "\naudit (settled after %s): %d acknowledged posts, %d likes, %d follows\n",
		(time.Duration(a.SettledAfterMS) * time.Millisecond).Round(time.Millisecond), a.AckedPosts, a.AckedLikes, a.AckedFollows)
	line := func(what string, list []string) {
		if len(list) == 0 {
			fmt.Fprintf(out, "  ok  %s\n", what)
			return
		}
		fmt.Fprintf(out, "  BAD %s: %d, e.g. %v\n", what, len(list), list[:min(3, len(list))])
	}
	line("every acknowledged post present", a.MissingPosts)
	line("every upload key made at most one post", a.DuplicatePosts)
	line("every post ready", a.NotReady)
	line("every acknowledged like present", a.MissingLikes)
	line("every acknowledged follow present", a.MissingFollows)
	line("feeds hold only followees' posts", a.FeedStrangers)
	line("feeds hold followees' later posts", a.FeedMissing)
	line("no orphaned blobs", a.OrphanedBlobs)
	line("no job running, waiting or discarded", a.JobsLeft)
	if len(a.Errors) > 0 {
		line("the audit read everything", a.Errors)
	}
	for _, s := range a.FirstLook {
		fmt.Fprintf(out, "  (at first look: %s)\n", s)
	}
	for _, s := range a.Skipped {
		fmt.Fprintf(out, "  --  skipped %s\n", s)
	}
}
