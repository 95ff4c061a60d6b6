package posts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/photofeed/photofeed/idempotency"
	"github.com/photofeed/photofeed/ids"
	"github.com/photofeed/photofeed/internal/crashpoint"
	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/media"
)

// Service creates, reads and deletes posts and likes.
type Service struct {
	store     Store
	blobs     Blobs
	authors   Authors
	ids       *ids.Generator
	limits    media.Limits
	budget    *media.Budget
	budgetFor time.Duration
	checks    *media.Checks
	now       func() time.Time
	log       *slog.Logger
	settled   *Settlements
}

// Config for NewService; zero values take the defaults.
type Config struct {
	MaxPixels int64            // default 50,000,000
	Now       func() time.Time // default time.Now
	Logger    *slog.Logger     // default slog.Default()
	// DecodeMemory bounds the memory images are processed in, at once,
	// by this service (one per node); default 256 MiB. An image costing
	// more is refused at upload.
	DecodeMemory int64
	// Budget, if set, is the node's decode budget itself (DecodeMemory is
	// then ignored).
	Budget *media.Budget
	// DecodeWaited, if set, is told how long each image waited for the
	// budget made of DecodeMemory (not for a Budget given).
	DecodeWaited func(time.Duration)
	// BudgetWait is how long making a post's variants waits for the
	// budget before giving up for now (ErrBusy); default 30s.
	BudgetWait time.Duration
	// Checks bounds the uploads' validity checks running at once on the
	// node; default 2 × GOMAXPROCS, waited for up to 5 s.
	Checks *media.Checks
	// Settlements wakes WaitReady; whoever receives the thumbnail job's
	// announcements calls its Settled. Nil: a new one, which nothing
	// announces on (WaitReady then waits to its bound).
	Settlements *Settlements
}

func NewService(store Store, blobs Blobs, authors Authors, gen *ids.Generator, cfg Config) *Service {
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 50_000_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DecodeMemory <= 0 {
		cfg.DecodeMemory = 256 << 20
	}
	if cfg.Budget == nil {
		cfg.Budget = media.NewBudget(cfg.DecodeMemory, cfg.DecodeWaited)
	}
	if cfg.BudgetWait <= 0 {
		cfg.BudgetWait = 30 * time.Second
	}
	if cfg.Checks == nil {
		cfg.Checks = media.NewChecks(2*runtime.GOMAXPROCS(0), 5*time.Second, nil)
	}
	if cfg.Settlements == nil {
		cfg.Settlements = NewSettlements()
	}
	return &Service{settled: cfg.Settlements, store: store, blobs: blobs, authors: authors, ids: gen,
		limits: media.Limits{Pixels: cfg.MaxPixels, Bytes: cfg.Budget.Size()},
		budget: cfg.Budget, budgetFor: cfg.BudgetWait, checks: cfg.Checks, now: cfg.Now, log: cfg.Logger}
}

// ValidateCaption checks a caption's length and encoding.
func ValidateCaption(caption string) error {
	f := errkind.Fields{}
	if !utf8.ValidString(caption) {
		f.Add("caption", "must be valid UTF-8")
	} else if utf8.RuneCountInString(caption) > MaxCaptionLen {
		f.Add("caption", fmt.Sprintf("must be at most %d characters", MaxCaptionLen))
	}
	return f.Err()
}

// Create accepts a photo: what can be checked without decoding it is
// checked now (type, pixels, the memory it would take to decode, and a
// walk of the whole file that finds it cut short or its checksums or
// lengths wrong: see media.Validate), so bad input is refused at once; it
// is decoded once, by the background job that makes its variants, which a
// file damaged where only decoding can tell leaves "failed". Nothing here
// decodes, so an upload never waits for the decode budget; the check's
// CPU grows with the pixels, so it waits for one of the node's check
// slots (media.Checks), and gives up with media.ErrBusy (a 503). The
// upload is stored before the post (a
// committed post never points at a missing file) and removed again if the
// post cannot be saved. The post enters feeds when its job finishes. A
// held claim (the request's Idempotency-Key) is marked committed with the
// post.
func (s *Service) Create(ctx context.Context, authorID int64, caption string, photo []byte, claim idempotency.Claim) (Post, error) {
	if err := ValidateCaption(caption); err != nil {
		return Post{}, err
	}
	if _, err := s.checks.Validate(ctx, photo, s.limits); err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	var p Post
	_, err := s.ids.Try(ids.Shard(authorID), func(id int64) error {
		var err error
		p, err = s.create(ctx, id, authorID, caption, photo, claim)
		return err
	})
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	return p, nil
}

// create stores the upload and the post under id. Another node may have
// taken id in the same millisecond: then its upload, or its post, is
// already there, and the answer is ids.ErrTaken, for a fresh id.
func (s *Service) create(ctx context.Context, id, authorID int64, caption string, photo []byte, claim idempotency.Claim) (Post, error) {
	// The upload is the post's own, not content-addressed like the
	// variants: it lives only until the variants are made, and a shared one
	// could be removed by another post finishing while this one still
	// needs it. So a key already there is another post's (its id taken),
	// never this one's to point at.
	key := uploadKey(id)
	created, err := s.blobs.Put(ctx, key, photo)
	if err != nil {
		return Post{}, fmt.Errorf("store upload: %w", err)
	}
	if !created {
		return Post{}, fmt.Errorf("upload %s exists: %w", key, ids.ErrTaken)
	}
	crashpoint.Hit(crashpoint.UploadStored)
	p := Post{ID: id, AuthorID: authorID, Caption: caption, CreatedAt: ids.Time(id), Status: Processing, UploadKey: key}
	if err := s.store.CreatePost(ctx, p, claim); err != nil {
		s.removeUnused(context.WithoutCancel(ctx), []string{key})
		return Post{}, err
	}
	crashpoint.Hit(crashpoint.UploadCommitted)
	return p, nil
}

// uploadKey names the upload of post id.
func uploadKey(id int64) string { return fmt.Sprintf("%04d-%d.upload", ids.Shard(id), id) }

// gcAfter is the cost of an image above which processing it ends with a
// garbage collection (see makeVariants).
const gcAfter = 16 << 20

// ErrUnprocessable marks an upload that passed validation but could not be
// turned into variants: retrying will not help. (media.ErrBusy, a wait for
// the decode budget that ran out, is the opposite: try again later.)
var ErrUnprocessable = errors.New("the image could not be processed")

// Finish makes a processing post's variants and makes it ready. It is the
// thumbnail job's work, safe to run again: a post that is gone or failed
// is left alone, and so is a ready one, unless its upload is still there
// (see finishAgain).
func (s *Service) Finish(ctx context.Context, postID int64) error {
	// The job was committed with its post: a miss here is the post's
	// deletion only if the primary says so (a replica or a cache may not
	// have seen the post yet, and the job would end with the post
	// processing for ever).
	p, err := s.store.CurrentPost(ctx, postID)
	if errors.Is(err, ErrPostNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish post %d: %w", postID, err)
	}
	if p.Status == Ready {
		return s.finishAgain(ctx, p)
	}
	if p.Status != Processing {
		return nil
	}
	photo, err := s.blobs.Get(ctx, p.UploadKey)
	if err != nil {
		return fmt.Errorf("finish post %d: read upload: %w", postID, err)
	}
	v, err := s.makeVariants(ctx, postID, photo)
	if err != nil {
		return err
	}
	crashpoint.Hit(crashpoint.VariantsMade)
	im, created, err := s.storeVariants(ctx, postID, v)
	if err != nil {
		return err
	}
	finished, err := s.store.FinishPost(ctx, postID, im)
	if err != nil {
		s.removeUnused(context.WithoutCancel(ctx), created)
		return fmt.Errorf("finish post %d: %w", postID, err)
	}
	if !finished {
		s.removeUnused(context.WithoutCancel(ctx), created)
		return nil
	}
	crashpoint.Hit(crashpoint.JobFinished)
	if err := s.restoreShared(ctx, postID, im, v, created); err != nil {
		return err
	}
	s.removeUnused(context.WithoutCancel(ctx), []string{p.UploadKey})
	return nil
}

// finishAgain completes the work of a run of Finish that ended (a crash)
// between making the post ready and removing its upload: the variants the
// post shares with another post may still have to be put again (see
// restoreShared), and only the upload can make them. Decoding is
// deterministic, so the variants made again are the post's own (a key
// that does not match is left alone). Once the upload is gone there is
// nothing left to do: a ready post's rerun costs one blob lookup.
func (s *Service) finishAgain(ctx context.Context, p Post) error {
	key := uploadKey(p.ID)
	photo, err := s.blobs.Get(ctx, key)
	if errkind.Of(err) == errkind.NotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish post %d again: read upload: %w", p.ID, err)
	}
	v, err := s.makeVariants(ctx, p.ID, photo)
	if err != nil {
		return err
	}
	for _, x := range []struct {
		im Image
		v  media.Variant
	}{{p.Images.Thumb, v.Thumb}, {p.Images.Large, v.Large}, {p.Images.Original, v.Original}} {
		if BlobKey(ids.Shard(p.ID), x.v.Data, x.v.Ext) != x.im.Key {
			s.log.WarnContext(ctx, "variant made again differs from the post's", "post", p.ID, "key", x.im.Key)
			continue
		}
		if _, err := s.blobs.Put(ctx, x.im.Key, x.v.Data); err != nil {
			return fmt.Errorf("finish post %d again: store image: %w", p.ID, err)
		}
	}
	s.removeUnused(context.WithoutCancel(ctx), []string{key})
	return nil
}

// makeVariants decodes the upload within the node's decode budget. An
// upload that cannot be processed fails the post, for good.
func (s *Service) makeVariants(ctx context.Context, postID int64, photo []byte) (media.Variants, error) {
	hdr, err := media.Inspect(photo, s.limits)
	if err != nil {
		return media.Variants{}, s.failPost(ctx, postID, err)
	}
	wait, cancel := context.WithTimeout(ctx, s.budgetFor)
	release, err := s.budget.Acquire(wait, hdr.Cost)
	cancel()
	if err != nil {
		return media.Variants{}, fmt.Errorf("finish post %d: wait for %d MiB of the decode budget: %w", postID, hdr.Cost>>20, err)
	}
	v, err := media.Process(photo, s.limits)
	if hdr.Cost >= gcAfter {
		// The budget counts memory in use; what Process leaves behind is
		// garbage until the next collection, which by default waits for
		// the heap to double. Collecting before the bytes go back to the
		// budget keeps the process's size at the budget (over the rest of
		// the heap), not twice it, for a fraction of the decode's CPU.
		runtime.GC()
	}
	release()
	if err != nil {
		return media.Variants{}, s.failPost(ctx, postID, err)
	}
	return v, nil
}

// failPost marks the post failed because of cause, an image that retrying
// will not make processable.
func (s *Service) failPost(ctx context.Context, postID int64, cause error) error {
	if err := s.store.FailPost(ctx, postID); err != nil {
		return err
	}
	return fmt.Errorf("finish post %d: %w: %w", postID, ErrUnprocessable, cause)
}

// storeVariants puts the variants in the blob store and returns them as
// the post's images, with the keys this call created (not already there):
// the ones to remove if the post does not take them.
func (s *Service) storeVariants(ctx context.Context, postID int64, v media.Variants) (Images, []string, error) {
	var im Images
	var created []string
	for _, x := range []struct {
		dst *Image
		v   media.Variant
	}{{&im.Thumb, v.Thumb}, {&im.Large, v.Large}, {&im.Original, v.Original}} {
		key := BlobKey(ids.Shard(postID), x.v.Data, x.v.Ext)
		isNew, err := s.blobs.Put(ctx, key, x.v.Data)
		if err != nil {
			s.removeUnused(context.WithoutCancel(ctx), created)
			return im, nil, fmt.Errorf("finish post %d: store image: %w", postID, err)
		}
		if isNew {
			created = append(created, key)
		}
		crashpoint.Hit(crashpoint.VariantStored)
		*x.dst = Image{Key: key, Width: x.v.Width, Height: x.v.Height}
	}
	return im, created, nil
}

// restoreShared puts again the variants the post shares with another post
// of the same photo (those not in created). Such a variant may have been
// deleted, by that post's deletion, between our Put and our reference:
// the store makes the deletion's check and delete one step that our
// reference waits for, so once it is committed, putting the bytes again
// is enough.
func (s *Service) restoreShared(ctx context.Context, postID int64, im Images, v media.Variants, created []string) error {
	for _, x := range []struct {
		key  string
		data []byte
	}{{im.Thumb.Key, v.Thumb.Data}, {im.Large.Key, v.Large.Data}, {im.Original.Key, v.Original.Data}} {
		if slices.Contains(created, x.key) {
			continue
		}
		if _, err := s.blobs.Put(ctx, x.key, x.data); err != nil {
			return fmt.Errorf("finish post %d: store image again: %w", postID, err)
		}
	}
	return nil
}

// WaitReady waits up to d for a processing post to be finished and returns
// it as it then stands: small photos are usually ready before the upload's
// response goes out. It re-reads the post when the thumbnail job announces
// the post settled, and once more at the bound.
func (s *Service) WaitReady(ctx context.Context, id int64, d time.Duration) (Post, error) {
	bound := time.NewTimer(d)
	defer bound.Stop()
	for {
		settled, stop := s.settled.watch(id)
		p, err := s.store.Post(ctx, id)
		if err != nil || p.Status != Processing || d <= 0 {
			stop()
			return p, err
		}
		select {
		case <-settled:
		case <-bound.C:
			stop()
			return s.store.Post(ctx, id)
		case <-ctx.Done():
			stop()
			return p, nil
		}
	}
}

// BlobKey names data by its SHA-256, so a key's bytes never change and can
// be cached forever, after the logical shard of the post that stores it:
// identical photos are shared by posts of one shard only, so whether a
// blob is still used is a question for one shard (see ShardOfKey).
func BlobKey(shard int, data []byte, ext string) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%04d-%s.%s", shard, hex.EncodeToString(sum[:]), ext)
}

// ShardOfKey is the shard a BlobKey names (0 for a key without one).
func ShardOfKey(key string) int {
	dash := strings.IndexByte(key, '-')
	if dash < 1 {
		return 0
	}
	n, err := strconv.Atoi(key[:dash])
	if err != nil || n < 0 || n >= ids.MaxShards {
		return 0
	}
	return n
}

// removeUnused deletes blobs no post references. Content addressing means
// two posts can share a blob, so each is checked before it goes, and the
// store holds new references off until the bytes are gone (see Finish).
func (s *Service) removeUnused(ctx context.Context, keys []string) {
	for _, k := range keys {
		if err := s.RemoveIfUnused(ctx, k); err != nil {
			s.log.WarnContext(ctx, "blob left behind", "key", k, "err", err)
		}
	}
}

// RemoveIfUnused deletes a blob if no post references it: what a deletion
// does at once, again from the consumer that purges edge caches, so that
// an edge refetching after the purge finds the bytes gone.
func (s *Service) RemoveIfUnused(ctx context.Context, key string) error {
	_, err := s.store.DeleteIfUnused(ctx, key, func(ctx context.Context) error { return s.blobs.Delete(ctx, key) })
	return err
}

func (s *Service) Post(ctx context.Context, id int64) (Post, error) {
	return s.store.Post(ctx, id)
}

// PostsByIDs returns the posts that exist, in the order of ids.
func (s *Service) PostsByIDs(ctx context.Context, idList []int64) ([]Post, error) {
	if len(idList) == 0 {
		return nil, nil
	}
	found, err := s.store.PostsByIDs(ctx, idList)
	if err != nil {
		return nil, fmt.Errorf("load posts: %w", err)
	}
	byID := make(map[int64]Post, len(found))
	for _, p := range found {
		byID[p.ID] = p
	}
	out := make([]Post, 0, len(found))
	for _, id := range idList {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// Delete removes a post its author asks to remove. Anyone else is told the
// post does not exist, which gives away nothing about other users' posts.
func (s *Service) Delete(ctx context.Context, id, authorID int64) error {
	p, err := s.store.DeletePost(ctx, id, authorID)
	if err != nil {
		return fmt.Errorf("delete post %d: %w", id, err)
	}
	s.removeUnused(context.WithoutCancel(ctx), p.Keys())
	return nil
}

func (s *Service) ByAuthor(ctx context.Context, authorID int64, offset, limit int) ([]Post, int64, error) {
	list, err := s.store.PostsByAuthor(ctx, authorID, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("posts by author: %w", err)
	}
	n, err := s.store.CountByAuthor(ctx, authorID)
	if err != nil {
		return nil, 0, fmt.Errorf("count posts: %w", err)
	}
	return list, n, nil
}

func (s *Service) CountByAuthor(ctx context.Context, authorID int64) (int64, error) {
	return s.store.CountByAuthor(ctx, authorID)
}

func (s *Service) Like(ctx context.Context, postID, userID int64) error {
	if err := s.store.Like(ctx, postID, userID, s.now().UTC()); err != nil {
		return fmt.Errorf("like post %d: %w", postID, err)
	}
	return nil
}

func (s *Service) Unlike(ctx context.Context, postID, userID int64) error {
	if err := s.store.Unlike(ctx, postID, userID); err != nil {
		return fmt.Errorf("unlike post %d: %w", postID, err)
	}
	return nil
}

var errNoAuthor = errors.New("post author missing")

// Keys lists the blob keys the post holds, the upload's included.
func (p Post) Keys() []string {
	keys := p.Images.Keys()
	if p.UploadKey != "" {
		keys = append(keys, p.UploadKey)
	}
	return keys
}

// RemoveOrphanBlobs deletes blobs no post references that are older than
// olderThan: left by uploads that failed after storing them, or by a crash.
// The age keeps it away from an upload in progress.
func (s *Service) RemoveOrphanBlobs(ctx context.Context, olderThan time.Time) (int, error) {
	var orphans []string
	err := s.blobs.Walk(ctx, func(key string, mod time.Time) error {
		if mod.After(olderThan) {
			return nil
		}
		inUse, err := s.store.ImageInUse(ctx, key)
		if err == nil && !inUse {
			orphans = append(orphans, key)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("find orphan blobs: %w", err)
	}
	crashpoint.Hit(crashpoint.OrphansFound)
	removed := 0
	for _, k := range orphans {
		// A post may have taken it meanwhile: checked again, under the lock.
		deleted, err := s.store.DeleteIfUnused(ctx, k, func(ctx context.Context) error { return s.blobs.Delete(ctx, k) })
		if err != nil {
			return removed, err
		}
		if deleted {
			removed++
			crashpoint.Hit(crashpoint.OrphanDeleted)
		}
	}
	return removed, nil
}
