package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/color"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/posts"
)

// A photo is accepted as "processing"; until its thumbnail job has run it
// has no images, is in no feed and its upload is never served; then it is
// ready, in feeds, and the upload is gone.
func TestThumbnailsAreMadeByAJob(t *testing.T) {
	w := newWorld(t) // no background yet: the job cannot run
	ctx := context.Background()
	author, follower := w.user("author"), w.user("follower")
	w.follow(follower, author)
	w.n.db.Timelines().Rebuild(ctx, follower, 10_000, 800)

	p, err := w.n.posts.Create(ctx, author, "a slow one", SampleJPEG(t, 300, 200, color.RGBA{70, 140, 210, 255}), idempotency.Claim{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != posts.Processing || p.UploadKey == "" {
		t.Fatalf("new post %+v, want processing with an upload", p)
	}
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		w.n.handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	var body struct {
		Status string
		Images *struct{ Thumb string }
	}
	rec := get("/v1/posts/" + strconv.FormatInt(p.ID, 10))
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != 200 || body.Status != "processing" || body.Images != nil {
		t.Fatalf("processing post: %d %s", rec.Code, rec.Body)
	}
	if rec := get("/media/" + p.UploadKey); rec.Code != 404 {
		t.Fatalf("the raw upload (with its EXIF) was served: %d", rec.Code)
	}
	if rec := get("/p/" + strconv.FormatInt(p.ID, 10)); !strings.Contains(rec.Body.String(), "Processing your photo") {
		t.Fatal("the post page shows no placeholder")
	}
	page, _ := w.n.feed.Home(ctx, follower, "", 20)
	if len(page.Posts) != 0 {
		t.Fatalf("a processing post is in a feed: %+v", page.Posts)
	}

	stop := w.n.start(ctx) // the worker starts: the job runs
	defer stop()
	ready, err := w.n.posts.WaitReady(ctx, p.ID, 15*time.Second)
	if err != nil || ready.Status != posts.Ready || ready.Images.Large.Width != 300 {
		t.Fatalf("after the job: %+v %v", ready, err)
	}
	w.caughtUp()
	page, _ = w.n.feed.Home(ctx, follower, "", 20)
	if len(page.Posts) != 1 || page.Posts[0].ID != p.ID {
		t.Fatalf("the ready post is not in the follower's feed: %+v", page.Posts)
	}
	if in, err := w.n.db.Posts().ImageInUse(ctx, p.UploadKey); err != nil || in {
		t.Fatal("the upload is still referenced after processing")
	}
	rec = get("/v2/posts/" + strconv.FormatInt(p.ID, 10))
	if !strings.Contains(rec.Body.String(), `"status":"ready"`) || !strings.Contains(rec.Body.String(), `"width":300`) {
		t.Fatalf("ready post: %s", rec.Body)
	}
	if rec := get("/media/" + ready.Images.Thumb.Key); rec.Code != 200 {
		t.Fatalf("thumb: %d", rec.Code)
	}
	keys := ready.Images.Keys()
	if slices.Contains(keys, p.UploadKey) {
		t.Fatal("the upload became a served variant")
	}
}

// With no wait, an upload answers 201 "processing" at once.
func TestUploadAnswersProcessingWithoutWaiting(t *testing.T) {
	w := newWorld(t, "--upload-wait", "0s")
	token := w.signIn("uploader")

	ct, body := UploadForm(SampleJPEG(t, 64, 64, color.RGBA{70, 140, 210, 255}), "hello")
	req := httptest.NewRequest("POST", "/v2/posts", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", `"one"`)
	rec := httptest.NewRecorder()
	w.n.handler.ServeHTTP(rec, req) // no worker runs in this node: it stays processing
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"status":"processing"`) || !strings.Contains(rec.Body.String(), `"images":null`) {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
}

// The orphan-blob cleanup removes old files no post uses, and nothing else.
func TestRemoveOrphanBlobs(t *testing.T) {
	dir := t.TempDir()
	w := newWorld(t, "--data-dir", dir)
	ctx := context.Background()
	author := w.user("author")
	kept := w.post(author)
	p, _ := w.n.db.Posts().Post(ctx, kept)
	media := filepath.Join(dir, "media")
	orphan, fresh := "ab"+strings.Repeat("0", 62)+".jpg", "cd"+strings.Repeat("0", 62)+".jpg"
	for _, k := range append(p.Images.Keys(), orphan, fresh) {
		os.MkdirAll(filepath.Join(media, k[:2]), 0o755)
		os.WriteFile(filepath.Join(media, k[:2], k), []byte("x"), 0o644)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, k := range append(p.Images.Keys(), orphan) {
		os.Chtimes(filepath.Join(media, k[:2], k), old, old)
	}
	n, err := w.n.posts.RemoveOrphanBlobs(ctx, time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("removed %d, %v; want the one old orphan", n, err)
	}
	for _, k := range append(p.Images.Keys(), fresh) {
		if _, err := os.Stat(filepath.Join(media, k[:2], k)); err != nil {
			t.Errorf("%s was removed: %v", k, err)
		}
	}
}

// While the node's decode budget is taken, a thumbnail job waits, then
// snoozes (which uses none of its attempts) and leaves the post
// processing; once the budget is free, the job makes the post ready.
func TestThumbnailJobWaitsForTheDecodeBudget(t *testing.T) {
	dir := t.TempDir()
	w := newWorld(t, "--data-dir", dir)
	ctx := context.Background()
	cfg, err := parseServeConfig([]string{"--data-dir", dir}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	budget := media.NewBudget(16<<20, nil)
	svc := posts.NewService(w.n.db.Posts(), blobs, nil, ids.NewGenerator(nil),
		posts.Config{Budget: budget, BudgetWait: 50 * time.Millisecond})
	p, err := svc.Create(ctx, w.user("author"), "waits its turn", SampleJPEG(t, 300, 200, color.RGBA{70, 140, 210, 255}), idempotency.Claim{})
	if err != nil {
		t.Fatal(err)
	}
	worker := &thumbnailWorker{posts: svc}
	job := &river.Job[thumbnailArgs]{JobRow: &rivertype.JobRow{}, Args: thumbnailArgs{PostID: p.ID}}

	release, err := budget.Acquire(ctx, 16<<20) // a large photo is being processed
	if err != nil {
		t.Fatal(err)
	}
	err = worker.Work(ctx, job)
	var snooze *river.JobSnoozeError
	if !errors.As(err, &snooze) {
		t.Fatalf("work with the budget taken: %v, want a snooze", err)
	}
	if got, _ := svc.Post(ctx, p.ID); got.Status != posts.Processing {
		t.Fatalf("post %s while the budget was taken, want processing", got.Status)
	}
	release()
	if err := worker.Work(ctx, job); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.Post(ctx, p.ID); got.Status != posts.Ready {
		t.Fatalf("post %s after the budget was freed, want ready", got.Status)
	}
}

// A photo whose damage only a decode finds (here a JPEG's Huffman table)
// passes the upload's checks, and its job leaves it "failed", not stuck
// "processing".
func TestUndecodablePhotoEndsFailed(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	photo := SampleJPEG(t, 120, 80, color.RGBA{70, 140, 210, 255})
	for i := 2; i+4 < len(photo); i++ {
		if photo[i] == 0xFF && photo[i+1] == 0xC4 { // DHT: its first table's class becomes 2
			photo[i+4] = 0x20
			break
		}
	}
	p, err := w.n.posts.Create(ctx, w.user("author"), "damaged inside", photo, idempotency.Claim{})
	if err != nil {
		t.Fatalf("upload refused: %v", err)
	}
	stop := w.n.start(ctx)
	defer stop()
	got, err := w.n.posts.WaitReady(ctx, p.ID, 15*time.Second)
	if err != nil || got.Status != posts.Failed {
		t.Fatalf("after the job: %s %v, want failed", got.Status, err)
	}
}
