package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/app"
	"github.com/photofeed/photofeed/internal/crashpoint"
	"github.com/photofeed/photofeed/internal/testenv"
)

// The kill points of TestKillNineAtEveryPointOfTheUploadPath, by phase.
// most is the highest pass a kill is armed for: a point an upload passes
// several times (a blob written for the upload and for each variant) may
// be taken at any of them.
var crashPhases = []struct {
	phase  string
	points []string
	most   int
}{
	{"body arriving", []string{crashpoint.UploadBody}, 3},
	{"body read, before the 201", []string{crashpoint.UploadRead, crashpoint.UploadStored, crashpoint.UploadCommitted}, 3},
	{"right after the 201", []string{crashpoint.UploadAnswered}, 3},
	{"making the variants", []string{crashpoint.VariantsMade, crashpoint.VariantStored, crashpoint.BlobLinking}, 4},
	{"the job committing", []string{crashpoint.JobFinished, crashpoint.JobWorked}, 3},
	{"orphan collection", []string{crashpoint.OrphansFound, crashpoint.OrphanDeleted, crashpoint.TempRemoved}, 2},
}

// crashUpload is one keyed upload as its client keeps it until it is
// acknowledged: key, exact bytes, and the post's id once a 201 said it.
type crashUpload struct {
	keyedUpload
	photoSum string // SHA-256 of the photo, as its stored upload must read
	id       string
}

// crashRun is the client side of the test: every upload it made, and
// what it has verified of the blobs.
type crashRun struct {
	t        *testing.T
	dir      string
	c        *client // the author
	watcher  *client // a follower, whose feed must hold only ready posts
	uploads  []*crashUpload
	pending  []*crashUpload // not acknowledged yet: retried, same key and bytes
	photos   map[string]bool
	verified map[string]bool // media files (name and size) whose bytes were checked
}

func (r *crashRun) newUpload() *crashUpload {
	i := len(r.uploads)
	img := app.SampleJPEG(r.t, 600, 450, color.RGBA{uint8(i), uint8(i >> 8), 200, 255})
	caption := fmt.Sprintf("kill-9 photo %d", i)
	var extra []string
	if i%3 == 2 {
		// A part the handler skips, making the body larger than the
		// idempotency middleware keeps in memory: it is spooled to a
		// file in the data directory, which a crash leaves behind.
		extra = []string{"padding", strings.Repeat("x", 1100<<10)}
	}
	ct, body := app.UploadForm(img, caption, extra...)
	sum := sha256.Sum256(img)
	u := &crashUpload{keyedUpload: keyedUpload{key: fmt.Sprintf(`"kill9-%d"`, i), caption: caption, contentType: ct, body: body},
		photoSum: hex.EncodeToString(sum[:])}
	r.uploads = append(r.uploads, u)
	r.photos[u.photoSum] = true
	return u
}

// drive keeps three clients uploading, the unacknowledged first, until
// the node dies or until stop says so.
func (r *crashRun) drive(node *nodeProcess, stop func() bool) {
	var mu sync.Mutex
	next := func() *crashUpload {
		mu.Lock()
		defer mu.Unlock()
		if len(r.pending) > 0 {
			u := r.pending[0]
			r.pending = r.pending[1:]
			return u
		}
		return r.newUpload()
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			for !node.exited() && !stop() {
				u := next()
				id, err := u.send(node.URL, r.c.token)
				mu.Lock()
				if err != nil {
					r.pending = append(r.pending, u)
				} else {
					u.id = id
				}
				mu.Unlock()
				if err != nil && !node.exited() {
					time.Sleep(20 * time.Millisecond) // a 409 or 503: as a client honouring Retry-After would, sooner
				}
			}
		})
	}
	wg.Wait()
}

type listedPost struct {
	ID, Caption, Status string
	Images              *struct{ Thumb, Large, Original struct{ URL string } }
}

// authorPosts lists every post of the author, as anyone sees them.
func (r *crashRun) authorPosts() []listedPost {
	var all []listedPost
	for page := 1; ; page++ {
		var p struct {
			Items []listedPost
			Total int
		}
		r.watcher.do("GET", fmt.Sprintf("/v2/users/crasher/posts?limit=100&page=%d", page), nil).json(r.t, &p)
		all = append(all, p.Items...)
		if len(p.Items) < 100 {
			if len(all) != p.Total {
				r.t.Fatalf("the author's list holds %d posts, its total says %d", len(all), p.Total)
			}
			return all
		}
	}
}

// checkMedia fetches a ready post's images: each must answer 200 with the
// bytes its content-addressed key names.
func (r *crashRun) checkMedia(base string, p listedPost, where string) {
	r.t.Helper()
	if p.Status != "ready" || p.Images == nil {
		r.t.Fatalf("%s shows post %s %q %q with images %v: only ready posts belong there", where, p.ID, p.Caption, p.Status, p.Images)
	}
	for _, u := range []string{p.Images.Thumb.URL, p.Images.Large.URL, p.Images.Original.URL} {
		resp, err := http.Get(base + u[strings.Index(u, "/media/"):])
		if err != nil {
			r.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		key := u[strings.LastIndex(u, "/")+1:]
		sum := sha256.Sum256(b)
		if resp.StatusCode != 200 || !strings.Contains(key, hex.EncodeToString(sum[:])) {
			r.t.Fatalf("%s: post %s %q: %s answers %d with %d bytes not named by its key", where, p.ID, p.Caption, key, resp.StatusCode, len(b))
		}
	}
}

// check holds the invariants on a restarted node once the work its dead
// run left has settled: no acknowledged post lost, one post per key, no
// post visible unprocessed or with an image missing, no half-written
// file under a key. recheck fetches every post's images again (after an
// orphan sweep was cut short), not only those of posts new since the last
// check. It returns how long the rescued work took to settle.
func (r *crashRun) check(node *nodeProcess, recheck bool, seen map[string]bool) time.Duration {
	t := r.t
	t.Helper()
	start := time.Now()
	var list []listedPost
	checked := map[string]bool{}
	r.checkFeed(seen)
	if !testenv.Poll(30*time.Second, func() bool {
		list = r.authorPosts()
		// As the dead run's work is redone: a post is processing, with
		// no images, or ready with every image whole; never failed.
		for _, p := range list {
			switch {
			case p.Status == "processing" && p.Images == nil:
			case p.Status == "ready" && (recheck || !seen[p.ID]) && !checked[p.ID]:
				r.checkMedia(node.URL, p, "the author's posts")
				checked[p.ID] = true
			case p.Status == "ready":
			default:
				t.Fatalf("the author's posts show post %s %q %s with images %v", p.ID, p.Caption, p.Status, p.Images)
			}
		}
		return !slices.ContainsFunc(list, func(p listedPost) bool { return p.Status != "ready" })
	}) {
		for _, p := range list {
			if p.Status != "ready" {
				t.Fatalf("post %s %q still %s 30 s after the restart", p.ID, p.Caption, p.Status)
			}
		}
	}
	settled := time.Since(start)
	byCaption := map[string]listedPost{}
	for _, p := range list {
		if _, dup := byCaption[p.Caption]; dup {
			t.Fatalf("two posts for one upload: %q", p.Caption)
		}
		byCaption[p.Caption] = p
		seen[p.ID] = true
	}
	known := 0
	for _, u := range r.uploads {
		p, ok := byCaption[u.caption]
		if ok {
			known++
		}
		if u.id != "" && (!ok || p.ID != u.id) {
			t.Fatalf("acknowledged post %s %q lost (listed: %v)", u.id, u.caption, p)
		}
	}
	if known != len(list) {
		t.Fatalf("the author has %d posts, %d of them from this client's uploads", len(list), known)
	}
	r.checkFeed(seen)
	r.checkFiles()
	return settled
}

// checkFeed reads the follower's feed: only ready posts, of the author's.
// Their images were fetched when the author's list showed them ready,
// unless the post is new: then they are fetched now.
func (r *crashRun) checkFeed(seen map[string]bool) {
	r.t.Helper()
	var feed struct{ Items []listedPost }
	r.watcher.do("GET", "/v2/feed?limit=100", nil).json(r.t, &feed)
	for _, p := range feed.Items {
		if !seen[p.ID] {
			r.checkMedia(r.watcher.base, p, "the follower's feed")
		} else if p.Status != "ready" || p.Images == nil {
			r.t.Fatalf("the follower's feed shows post %s %q %s", p.ID, p.Caption, p.Status)
		}
	}
}

// checkFiles reads what is under a key in the media directory: a variant
// must hold the bytes its name hashes, an upload one of the photos sent.
// Unfinished writes (.tmp-*) may lie about until the orphan sweep; they
// are under no key. No request is in flight: no request body may be
// spooled.
func (r *crashRun) checkFiles() {
	if left, _ := os.ReadDir(filepath.Join(r.dir, "spool")); len(left) > 0 {
		r.t.Fatalf("%d request bodies a dead run spooled are left in the data directory, %s first", len(left), left[0].Name())
	}
	err := filepath.WalkDir(filepath.Join(r.dir, "media"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), ".tmp-") {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		id := e.Name() + "/" + strconv.FormatInt(info.Size(), 10)
		if r.verified[id] {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:])
		name := e.Name()
		switch {
		case strings.HasPrefix(name, "0000-orphan-"): // planted for the sweep (plantOrphans)
		case strings.HasSuffix(name, ".upload"):
			if !r.photos[hash] {
				r.t.Fatalf("media/%s holds %d bytes that are no photo sent", name, len(b))
			}
		case !strings.Contains(name, hash):
			r.t.Fatalf("media/%s holds %d bytes its name does not hash: a half-written blob under its key", name, len(b))
		}
		r.verified[id] = true
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// ageMedia makes every file in the media directory last modified before
// `before` two hours old, as far as the orphan sweep (files over an hour
// old that no post uses) is concerned. Newer files may be writes in
// progress.
func ageMedia(t *testing.T, dir string, before time.Time) int {
	t.Helper()
	old := time.Now().Add(-2 * time.Hour)
	n := 0
	filepath.WalkDir(filepath.Join(dir, "media"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if info, err := e.Info(); err == nil && info.ModTime().Before(before) {
			os.Chtimes(p, old, old)
			n++
		}
		return nil
	})
	return n
}

// plantOrphans puts there what a crash leaves for the sweep, two hours
// old: an upload stored for a post that never committed, a write cut
// short; n of each.
func plantOrphans(t *testing.T, dir string, life, n int) {
	t.Helper()
	old := time.Now().Add(-2 * time.Hour)
	for i := range n {
		for _, f := range []string{fmt.Sprintf("0000-orphan-%d-%d.upload", life, i), fmt.Sprintf(".tmp-orphan-%d-%d", life, i)} {
			p := filepath.Join(dir, "media", "00", f)
			if strings.HasPrefix(f, ".tmp") {
				p = filepath.Join(dir, "media", "or", f)
			}
			os.MkdirAll(filepath.Dir(p), 0o700)
			if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, old, old)
		}
	}
}

// sweepJob returns the id of an orphan sweep's job that is done (waiting
// for the first), for an administrator's retry to run it again.
func sweepJob(t *testing.T, c *client) int64 {
	t.Helper()
	var id int64
	if !testenv.Poll(20*time.Second, func() bool {
		var list struct {
			Items []struct {
				ID, Kind, State string
				Args            json.RawMessage
			}
		}
		c.do("GET", "/v2/admin/jobs?state=completed&limit=100", nil).json(t, &list)
		for _, j := range list.Items {
			n, _ := strconv.ParseInt(j.ID, 10, 64)
			if j.Kind == "cleanup" && bytes.Contains(j.Args, []byte("orphan_blobs")) {
				id = n
				return true
			}
		}
		return false
	}) {
		t.Fatal("the orphan sweep did not run on start")
	}
	return id
}

// envInt reads a test knob from the environment.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: not a number", name, s)
	}
	return n
}

// A node killed with SIGKILL at any point of the upload and processing
// path, over and over, loses nothing and shows nothing half done. Each
// life of the node is started on the same data directory, checked (see
// crashRun.check), armed to kill itself at a point drawn by the seed,
// and driven by three clients uploading (the unacknowledged retried with
// their keys and bytes) until it dies there; a kill in the orphan sweep
// is armed with old orphans planted and the sweep run again. At the end
// every upload is one ready post and the sweep leaves exactly the posts'
// images.
//
// PHOTOFEED_CRASH_KILLS sets the number of kills (default 50, about 35 s
// on 2 shared cores, what the CI affords; 100 take about 70 s),
// PHOTOFEED_CRASH_SEED the seed (logged, to replay a run: the kill points
// and passes replay exactly, the clients' interleaving does not).
func TestKillNineAtEveryPointOfTheUploadPath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	if raceDetector {
		t.Skip("a hundred node lives under the race detector's slowdown; the race tests cover the code")
	}
	if os.Getenv("PHOTOFEED_TEST_DB") != "" {
		t.Skip("the embedded database and media directory's crash recovery; it runs in the default mode")
	}
	kills := envInt(t, "PHOTOFEED_CRASH_KILLS", 50)
	seed := uint64(envInt(t, "PHOTOFEED_CRASH_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("seed %d (PHOTOFEED_CRASH_SEED=%d to replay), %d kills", seed, seed, kills)
	rng := rand.New(rand.NewPCG(seed, 0))
	began := time.Now()

	dir := t.TempDir()
	logs := nodeLogs(t)
	logw := logs

	nodeStarted := time.Now()
	node := startNodeProcess(t, dir, logw)
	r := &crashRun{t: t, dir: dir, photos: map[string]bool{}, verified: map[string]bool{},
		c: (&server{URL: node.URL}).client(t), watcher: (&server{URL: node.URL}).client(t)}
	r.c.signup("crasher")
	r.watcher.signup("watcher")
	r.watcher.follow("crasher")
	var out bytes.Buffer
	if err := app.Run(t.Context(), []string{"users", "grant-admin", "crasher", "--data-dir", dir},
		func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("grant-admin: %v %s", err, out.String())
	}

	setup := time.Since(began)
	perPhase := map[string]int{}
	perPoint := map[string]int{}
	seen := map[string]bool{}
	var restarts, settles, lives []time.Duration
	recheck := false
	for k := range kills {
		lifeStart := time.Now()
		settles = append(settles, r.check(node, recheck, seen))
		ph := crashPhases[rng.IntN(len(crashPhases))]
		point := ph.points[rng.IntN(len(ph.points))]
		n := 1 + rng.IntN(ph.most)
		if point == crashpoint.OrphansFound {
			n = 1 // once a sweep
		}
		if ph.phase == "orphan collection" {
			// Old orphans planted, a sweep run again: that one, or the
			// one this start queued if it runs later, is killed. (The
			// latter may have run before the planting; then it passes
			// OrphansFound with nothing found, a kill all the same.)
			sweep := sweepJob(t, r.c)
			node.arm(t, point, n)
			ageMedia(t, dir, lifeStart)
			plantOrphans(t, dir, k, 2)
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v2/admin/jobs/%d/retry", node.URL, sweep), strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+r.c.token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprintf(`"sweep-%d"`, k))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("retry the sweep: %s", resp.Status)
				}
			} else if !testenv.Poll(5*time.Second, node.exited) {
				t.Fatalf("retry the sweep: %v", err)
			}
			recheck = true
		} else {
			node.arm(t, point, n)
			deadline := time.Now().Add(30 * time.Second)
			r.drive(node, func() bool { return time.Now().After(deadline) })
		}
		if !testenv.Poll(30*time.Second, node.exited) {
			t.Fatalf("kill %d: the node never reached %s (pass %d)", k, point, n)
		}
		node.wait(t)
		if !node.killedBySIGKILL() {
			t.Fatalf("kill %d: armed at %s, the node ended otherwise: %v", k, point, node.cmd.ProcessState)
		}
		at := strings.Count(logs.String(), "crashpoint: SIGKILL at ")
		if at != k+1 {
			t.Fatalf("kill %d: %d kills at crash points logged, want %d", k, at, k+1)
		}
		perPhase[ph.phase]++
		perPoint[fmt.Sprintf("%s#%d", point, n)]++
		lives = append(lives, time.Since(lifeStart))

		nodeStarted = time.Now()
		node = startNodeProcess(t, dir, logw)
		restarts = append(restarts, time.Since(nodeStarted))
		r.c.base, r.watcher.base = node.URL, node.URL
		if ph.phase != "orphan collection" {
			recheck = false
		}
	}

	killing := time.Since(began) - setup
	// The last life: no kill. Every upload not acknowledged yet is, once
	// retried, and all are checked.
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range r.pending {
		var err error
		for u.id == "" && time.Now().Before(deadline) {
			if u.id, err = u.send(node.URL, r.c.token); err != nil {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if u.id == "" {
			t.Fatalf("the upload %s was never acknowledged: %v", u.key, err)
		}
	}
	r.pending = nil
	r.check(node, true, seen)
	list := r.authorPosts()
	if len(list) != len(r.uploads) {
		t.Fatalf("%d uploads made %d posts", len(r.uploads), len(list))
	}
	var want []string
	for _, p := range list {
		for _, u := range []string{p.Images.Thumb.URL, p.Images.Large.URL, p.Images.Original.URL} {
			want = append(want, u[strings.LastIndex(u, "/")+1:])
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)

	// The sweep, on a start with every file old: only the posts' images
	// remain, and no unfinished write.
	node.stop(t)
	ageMedia(t, dir, time.Now())
	node = startNodeProcess(t, dir, logw)
	var got []string
	if !testenv.Poll(20*time.Second, func() bool { got = mediaFileNames(t, dir); return slices.Equal(got, want) }) {
		var extra []string
		for _, f := range got {
			if !slices.Contains(want, f) {
				extra = append(extra, f)
			}
		}
		t.Fatalf("after the orphan sweep %d files in media, want the %d the posts use; not used: %q", len(got), len(want), extra)
	}
	node.stop(t)

	phases := make([]string, 0, len(crashPhases))
	for _, ph := range crashPhases {
		phases = append(phases, fmt.Sprintf("%s %d", ph.phase, perPhase[ph.phase]))
	}
	points := make([]string, 0, len(perPoint))
	for p, n := range perPoint {
		points = append(points, fmt.Sprintf("%s %d", p, n))
	}
	slices.Sort(points)
	t.Logf("%d kills in %s (setup %s, kills %s, final check and sweep %s): %s", kills, time.Since(began).Round(time.Millisecond),
		setup.Round(time.Millisecond), killing.Round(time.Millisecond), (time.Since(began) - setup - killing).Round(time.Millisecond), strings.Join(phases, ", "))
	t.Logf("kills by point and pass: %s", strings.Join(points, ", "))
	t.Logf("%d uploads, %d posts, all ready, one per key; %d files in media after the sweep", len(r.uploads), len(list), len(want))
	t.Logf("restart to healthy: %s; rescued work settled: %s; a life, check to kill: %s",
		spread(restarts), spread(settles), spread(lives))
}

// spread summarises durations: median and max.
func spread(d []time.Duration) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return fmt.Sprintf("median %s, max %s", s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// A post that shares its images with an earlier post of the same photo
// takes them by reference; if the earlier post is deleted between the
// job's put (already there) and its reference, the bytes go, and the job
// puts them again once its reference is committed. A kill between that
// commit and the put must not leave the post ready with its images
// missing: the job's rerun, finding the post ready and its upload still
// there, puts them again.
//
// The concurrent deletion is stood in for by removing the shared files
// while the node is dead, as the deletion would have, and deleting the
// earlier post after the restart.
func TestKillAfterTheReferenceBeforeSharedImagesArePutAgain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	if os.Getenv("PHOTOFEED_TEST_DB") != "" {
		t.Skip("the embedded database and media directory's crash recovery; it runs in the default mode")
	}
	dir := t.TempDir()
	logw := nodeLogs(t)
	node := startNodeProcess(t, dir, logw)
	c := (&server{URL: node.URL}).client(t)
	c.signup("sharer")
	img := app.SampleJPEG(t, 600, 450, color.RGBA{10, 200, 30, 255})
	first := crashUpload{keyedUpload: keyedUpload{key: `"first"`, caption: "first"}}
	first.contentType, first.body = app.UploadForm(img, "first")
	firstID, err := first.send(node.URL, c.token)
	if err != nil {
		t.Fatal(err)
	}
	var a listedPost
	if !testenv.Poll(10*time.Second, func() bool {
		c.do("GET", "/v2/posts/"+firstID, nil).json(t, &a)
		return a.Status == "ready"
	}) {
		t.Fatalf("the first post is %s", a.Status)
	}

	// The same photo again: its variants are all there already.
	node.arm(t, crashpoint.JobFinished, 1)
	second := crashUpload{keyedUpload: keyedUpload{key: `"second"`, caption: "second"}}
	second.contentType, second.body = app.UploadForm(img, "second")
	secondID, _ := second.send(node.URL, c.token) // answered or not: the post is committed before the job runs
	if !testenv.Poll(20*time.Second, node.exited) {
		t.Fatal("the second post's job never finished")
	}
	node.wait(t)
	if !node.killedBySIGKILL() {
		t.Fatalf("the node ended otherwise: %v", node.cmd.ProcessState)
	}
	for _, u := range []string{a.Images.Thumb.URL, a.Images.Large.URL, a.Images.Original.URL} {
		key := u[strings.LastIndex(u, "/")+1:]
		if err := os.Remove(filepath.Join(dir, "media", key[:2], key)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}

	node = startNodeProcess(t, dir, logw)
	c.base = node.URL
	if secondID == "" {
		if secondID, err = second.send(node.URL, c.token); err != nil {
			t.Fatal(err)
		}
	}
	if r := c.do("DELETE", "/v2/posts/"+firstID, nil); r.StatusCode != 204 {
		t.Fatalf("delete the first post: %d %s", r.StatusCode, r.Body)
	}
	var b listedPost
	if !testenv.Poll(10*time.Second, func() bool {
		c.do("GET", "/v2/posts/"+secondID, nil).json(t, &b)
		return b.Status == "ready"
	}) {
		t.Fatalf("the second post is %s", b.Status)
	}
	// The rerun runs as the node starts; give it its time before asking
	// for the bytes, as the post's own readers would.
	r := &crashRun{t: t, dir: dir}
	var missing error
	if !testenv.Poll(10*time.Second, func() bool {
		missing = nil
		for _, u := range []string{b.Images.Thumb.URL, b.Images.Large.URL, b.Images.Original.URL} {
			resp, err := http.Get(node.URL + u[strings.Index(u, "/media/"):])
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				missing = fmt.Errorf("%s answers %d", u, resp.StatusCode)
			}
		}
		return missing == nil
	}) {
		t.Fatalf("the second post is ready with an image missing: %v", missing)
	}
	r.checkMedia(node.URL, b, "the second post")
	// And the upload it was made from goes, not left for the sweep: the
	// rerun deletes it once the images are back, so it may still be there
	// for a moment after they answer.
	var files []string
	if !testenv.Poll(10*time.Second, func() bool {
		files = mediaFileNames(t, dir)
		return !slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, ".upload") })
	}) {
		t.Fatalf("an upload is left in media: %q", files)
	}
}
