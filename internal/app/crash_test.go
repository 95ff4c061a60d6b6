package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/testenv"
)

// photo is a 1200×900 JPEG, different for each seed so that no two posts
// share variants.
func photo(t *testing.T, seed int) []byte {
	return app.SampleJPEG(t, 1200, 900, color.RGBA{uint8(seed), uint8(seed >> 8), 128, 255})
}

// keyedUpload is one upload as a client keeps it to retry: its key and
// its exact bytes.
type keyedUpload struct {
	key, caption, contentType string
	body                      []byte
}

func newKeyedUpload(t *testing.T, round, i int) keyedUpload {
	caption := fmt.Sprintf("round %d photo %d", round, i)
	ct, body := app.UploadForm(photo(t, round*100+i), caption)
	return keyedUpload{key: fmt.Sprintf(`"crash-%d-%d"`, round, i), caption: caption, contentType: ct, body: body}
}

// send posts the upload once; it returns the post's id when the server
// acknowledged it with a 201, and why not otherwise.
func (u keyedUpload) send(base, token string) (string, error) {
	req, _ := http.NewRequest("POST", base+"/v2/posts", bytes.NewReader(u.body))
	req.Header.Set("Content-Type", u.contentType)
	req.Header.Set("Idempotency-Key", u.key)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 {
		return "", fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	var p struct{ ID, Caption string }
	if err := json.Unmarshal(body, &p); err != nil || p.ID == "" {
		return "", fmt.Errorf("201 without a post: %s", body)
	}
	if p.Caption != u.caption {
		return "", fmt.Errorf("key %s answered with the post %q", u.key, p.Caption)
	}
	return p.ID, nil
}

// runningJobs counts the thumbnail jobs left in state running, as
// `photofeed jobs list --state running` shows them.
func runningJobs(t *testing.T, dir string) int {
	t.Helper()
	var out bytes.Buffer
	err := app.Run(context.Background(), []string{"jobs", "list", "--state", "running", "--limit", "1000", "--data-dir", dir},
		func(string) string { return "" }, &out, &out)
	if err != nil {
		t.Fatalf("jobs list: %v\n%s", err, out.String())
	}
	return strings.Count(out.String(), "thumbnails")
}

// mediaFileNames lists every file under the data dir's media directory,
// temporary ones included.
func mediaFileNames(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "media"), func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files = append(files, e.Name())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// nodeLogs collects what the node processes a test starts log, and shows
// the last 20,000 bytes of it if the test fails.
func nodeLogs(t *testing.T) *testenv.LogBuffer {
	logs := &testenv.LogBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			tail := logs.String()
			if len(tail) > 20000 {
				tail = tail[len(tail)-20000:]
			}
			t.Logf("node logs (tail):\n%s", tail)
		}
	})
	return logs
}

// A node killed with SIGKILL while uploads are in flight loses nothing and
// leaves nothing stuck: restarted on its data dir, the thumbnail jobs its
// dead run left running run again at once, every acknowledged upload and
// every retried one becomes ready within 30 s of the restart, each exactly
// once, and once the orphan cleanup has run no blob without a post remains.
func TestCrashDuringUploadsLeavesNothingStuck(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	if raceDetector {
		t.Skip("measures time to ready, which the race detector's slowdown makes meaningless")
	}
	if os.Getenv("PHOTOFEED_TEST_DB") != "" {
		t.Skip("the embedded database's crash recovery; it runs in the default mode")
	}
	dir := t.TempDir()
	logw := nodeLogs(t)

	node := startNodeProcess(t, dir, logw)
	c := (&server{URL: node.URL}).client(t)
	c.signup("crasher")
	var out bytes.Buffer
	if err := app.Run(context.Background(), []string{"users", "grant-admin", "crasher", "--data-dir", dir},
		func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("grant-admin: %v %s", err, out.String())
	}

	const rounds, perRound = 3, 12
	var all []string // every post id the client holds
	rescued := 0
	for round := range rounds {
		uploads := make([]keyedUpload, perRound)
		for i := range uploads {
			uploads[i] = newKeyedUpload(t, round, i)
		}
		ids := make([]string, perRound)
		errs := make([]error, perRound)
		var wg sync.WaitGroup
		var answered atomic.Int32
		for i, u := range uploads {
			wg.Go(func() {
				if ids[i], errs[i] = u.send(node.URL, c.token); ids[i] != "" {
					answered.Add(1)
				}
			})
		}
		// Kill the node while a thumbnail job runs, once a third more of
		// the uploads have been acknowledged each round, or at the latest
		// when every upload has been answered.
		sent := make(chan struct{})
		go func() { wg.Wait(); close(sent) }()
	watch:
		for {
			select {
			case <-sent:
				break watch
			default:
			}
			if int(answered.Load()) < round*perRound/3 {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			var list struct{ Items []struct{ Kind string } }
			if r, err := adminJobs(node.URL, c.token, "running"); err == nil {
				json.Unmarshal(r, &list)
				if slices.ContainsFunc(list.Items, func(j struct{ Kind string }) bool { return j.Kind == "thumbnails" }) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
		node.kill(t)
		<-sent
		acked := 0
		for _, id := range ids {
			if id != "" {
				acked++
			}
		}
		orphans := runningJobs(t, dir)
		rescued += orphans

		restarted := time.Now()
		node = startNodeProcess(t, dir, logw)
		c.base = node.URL
		// The clients retry what was not acknowledged, with the same key
		// and bytes, each on its own.
		deadline := restarted.Add(30 * time.Second)
		for i, u := range uploads {
			if ids[i] != "" {
				continue
			}
			wg.Go(func() {
				for ids[i] == "" && time.Now().Before(deadline) {
					if ids[i], errs[i] = u.send(node.URL, c.token); ids[i] == "" {
						time.Sleep(100 * time.Millisecond) // as a client honouring Retry-After would, sooner
					}
				}
			})
		}
		wg.Wait()
		for i, u := range uploads {
			if ids[i] == "" {
				t.Fatalf("round %d: the retry of %s never succeeded: %v", round, u.key, errs[i])
			}
		}
		// Every post becomes ready within 30 s of the restart.
		for _, id := range ids {
			var p struct {
				Status string
				Images *struct{ Thumb struct{ URL string } }
			}
			if !testenv.Poll(time.Until(deadline), func() bool {
				c.do("GET", "/v2/posts/"+id, nil).json(t, &p)
				return p.Status == "ready" && p.Images != nil
			}) {
				t.Fatalf("round %d: post %s still %q %d s after the restart (%d thumbnail jobs were left running; `jobs list --state running` now: %d)",
					round, id, p.Status, int(time.Since(restarted).Seconds()), orphans, runningJobs(t, dir))
			}
		}
		t.Logf("round %d: %d of %d uploads acknowledged before the kill, the rest retried; %d thumbnail jobs left running, rescued; all %d posts ready %s after the restart",
			round, acked, perRound, orphans, perRound, time.Since(restarted).Round(time.Millisecond))
		all = append(all, ids...)
	}
	t.Logf("%d thumbnail jobs rescued in %d rounds", rescued, rounds)
	if rescued == 0 {
		t.Fatal("no kill caught a thumbnail job running: the rescue was not exercised")
	}

	// Each upload is one post: the author has exactly as many as the
	// client holds, and they are those.
	var page struct {
		Items []struct{ ID, Caption string }
		Total int
	}
	c.do("GET", "/v1/users/crasher/posts?limit=100", nil).json(t, &page)
	if page.Total != rounds*perRound || len(page.Items) != rounds*perRound {
		t.Fatalf("the author has %d posts (%d listed), want %d", page.Total, len(page.Items), rounds*perRound)
	}
	captions := map[string]bool{}
	for _, p := range page.Items {
		if !slices.Contains(all, p.ID) || captions[p.Caption] {
			t.Fatalf("post %s %q is a duplicate or unknown", p.ID, p.Caption)
		}
		captions[p.Caption] = true
	}

	// The orphan cleanup takes blobs over an hour old: age every file,
	// restart (the cleanups run on start) and wait until only the posts'
	// images remain.
	var want []string
	for _, id := range all {
		var p struct {
			Images struct{ Thumb, Large, Original struct{ URL string } }
		}
		c.do("GET", "/v2/posts/"+id, nil).json(t, &p)
		for _, u := range []string{p.Images.Thumb.URL, p.Images.Large.URL, p.Images.Original.URL} {
			want = append(want, u[strings.LastIndex(u, "/")+1:])
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	node.stop(t)
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range mediaFileNames(t, dir) {
		matches, _ := filepath.Glob(filepath.Join(dir, "media", "*", f))
		for _, m := range matches {
			if err := os.Chtimes(m, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	// And what a crash can leave, whether or not this run did: an upload
	// stored for a post that never committed, a write cut short.
	for _, f := range []string{"0000-never-posted.upload", ".tmp-cut-short"} {
		p := filepath.Join(dir, "media", f[:2], f)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	before := len(mediaFileNames(t, dir))
	node = startNodeProcess(t, dir, logw)
	var got []string
	if !testenv.Poll(20*time.Second, func() bool { got = mediaFileNames(t, dir); return slices.Equal(got, want) }) {
		var extra []string
		for _, f := range got {
			if !slices.Contains(want, f) {
				extra = append(extra, f)
			}
		}
		t.Fatalf("after the orphan cleanup, %d files in media, want the %d the posts use; not used: %q", len(got), len(want), extra)
	}
	t.Logf("orphan cleanup: %d files in media before, %d after (the posts' images)", before, len(want))
}

func adminJobs(base, token, state string) ([]byte, error) {
	req, _ := http.NewRequest("GET", base+"/v1/admin/jobs?limit=100&state="+state, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, errors.New(resp.Status)
	}
	return io.ReadAll(resp.Body)
}
