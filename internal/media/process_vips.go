//go:build vips

package media

import (
	"errors"
	"fmt"
	"sync"

	"github.com/davidbyttow/govips/v2/vips"
)

// Process checks data and renders its variants. lim bounds the decoded
// size; see Inspect. The caller should hold hdr.Cost of the node's decode
// budget while it runs.
//
// Built with the vips tag (cgo and libvips-dev needed), a JPEG larger than
// the large variant has its two variants made by libvips: decoded at ½,
// ¼ or ⅛ of its size by libjpeg's DCT scaling ("shrink-on-load"), which
// pure Go cannot do and which is most of the difference in CPU. Everything
// else is as in Go alone (processGo): Inspect and its limits first, the
// original is the same stripJPEG bytes, the variants JPEG at the same
// quality, upright, of the same sizes.
//
// The rest takes the pure-Go path, on purpose: PNG, GIF and WebP (their
// original is a full-size re-encode, so the whole image is decoded
// anyway, and which are PNG or JPEG and how transparency is kept is
// decided from Go's decoded image), and JPEGs of at most LargeSize a side
// (nothing to shrink on load; a small upright one is served as itself,
// which only Go's full decode checks). So does any JPEG libvips cannot
// render (it is told to fail on what libjpeg only warns about): Go's
// decoder then decides, as without the tag, between variants and
// ErrCorrupt, so the tag never refuses a photo the default build takes.
func Process(data []byte, lim Limits) (Variants, error) {
	hdr, err := Inspect(data, lim)
	if err != nil {
		return Variants{}, err
	}
	// Started even where Go does the work, so a worker pays libvips's
	// start-up at its first photo, whatever it is.
	startVips()
	if hdr.ContentType != "image/jpeg" || max(hdr.Width, hdr.Height) <= LargeSize {
		return processGo(data, lim)
	}
	stripped, err := stripJPEG(data, hdr.Orientation)
	if err != nil {
		return Variants{}, ErrCorrupt
	}
	v, err := renderVips(stripped, hdr)
	if err != nil {
		return processGo(data, lim)
	}
	return v, nil
}

var vipsOnce sync.Once

// startVips starts libvips once per process: quiet (its warnings about a
// damaged file come back as that file's error), one thread per image
// (a worker runs several images at once; see Checks), and no operation
// cache, which would keep other people's photos in memory for nothing.
func startVips() {
	vipsOnce.Do(func() {
		vips.LoggingSettings(func(string, vips.LogLevel, string) {}, vips.LogLevelError)
		vips.Startup(&vips.Config{ConcurrencyLevel: 1, MaxCacheFiles: 0, MaxCacheMem: 0, MaxCacheSize: 0})
	})
}

// renderVips makes the variants of stripped, a JPEG cut down by stripJPEG
// whose header is hdr. libvips reads the orientation from the one tag
// stripJPEG wrote, the same hdr.Orientation Go turns by, and no other
// metadata reaches it. The sizes are fitSize's, as processGo's are: asked
// for exactly (libvips would round where Go truncates), and checked.
//
// The thumb is made from the large variant's JPEG, as vipsthumbnail
// pipelines do: decoding 1080 px at ½ size costs a few milliseconds,
// where the upload again would cost its whole entropy decoding; the
// large's own quantisation is averaged away by the 3.4× shrink.
func renderVips(stripped []byte, hdr Header) (Variants, error) {
	startVips()
	up := orientedRect(hdr.Width, hdr.Height, hdr.Orientation)
	var v Variants
	v.Original = Variant{Data: stripped, ContentType: "image/jpeg", Ext: "jpg", Width: up.Dx(), Height: up.Dy()}
	lw, lh := fitSize(up.Dx(), up.Dy(), LargeSize)
	var err error
	if v.Large, err = thumbnailVips(stripped, lw, lh, true); err != nil {
		return Variants{}, fmt.Errorf("large variant: %w", err)
	}
	tw, th := fitSize(lw, lh, ThumbSize)
	if v.Thumb, err = thumbnailVips(v.Large.Data, tw, th, false); err != nil {
		return Variants{}, fmt.Errorf("thumb variant: %w", err)
	}
	return v, nil
}

var errVipsSize = errors.New("libvips made a variant of another size")

// thumbnailVips is the JPEG src shrunk on load, turned upright and scaled
// to w×h, encoded as JPEG at jpegQuality with no metadata, as processGo
// encodes, but progressive when asked: the large variant, the one a feed
// shows on a slow phone link, then draws whole at once and sharpens, and
// is a few per cent smaller (Go's encoder writes baseline only).
func thumbnailVips(src []byte, w, h int, progressive bool) (Variant, error) {
	params := vips.NewImportParams()
	params.FailOnError.Set(true)
	img, err := vips.LoadThumbnailFromBuffer(src, w, h, vips.InterestingNone, vips.SizeForce, params)
	if err != nil {
		return Variant{}, fmt.Errorf("load: %w", err)
	}
	defer img.Close()
	// The image is a pipeline: the decode and scaling run here, so this
	// is where a damaged file fails.
	data, _, err := img.ExportJpeg(&vips.JpegExportParams{Quality: jpegQuality, StripMetadata: true, Interlace: progressive})
	if err != nil {
		return Variant{}, fmt.Errorf("encode: %w", err)
	}
	if img.Width() != w || img.Height() != h {
		return Variant{}, fmt.Errorf("%w: %d×%d, want %d×%d", errVipsSize, img.Width(), img.Height(), w, h)
	}
	return Variant{Data: data, ContentType: "image/jpeg", Ext: "jpg", Width: w, Height: h}, nil
}
