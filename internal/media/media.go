// Package media turns an uploaded file into the image variants photofeed
// serves: it checks what the bytes are (not what the client says), refuses
// decompression bombs from the header alone, applies EXIF orientation to
// the scaled variants, and strips all metadata (EXIF, GPS): the variants
// are re-encoded, a JPEG original has its metadata segments cut out.
package media

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif" // registered decoders: the formats we accept
	_ "image/jpeg"
	_ "image/png"
	"net/http"

	_ "golang.org/x/image/webp"

	"github.com/photofeed/photofeed/internal/errkind"
)

// Accepted maps the sniffed content types we take to their decoder names.
var Accepted = map[string]string{
	"image/jpeg": "jpeg",
	"image/png":  "png",
	"image/gif":  "gif",
	"image/webp": "webp",
}

// Errors for bad uploads.
var (
	ErrUnsupportedType = errkind.New(errkind.Unsupported, "the file is not a JPEG, PNG, GIF or WebP image")
	ErrCorrupt         = errkind.New(errkind.Invalid, "the file could not be read as an image")
	ErrTooManyPixels   = errkind.New(errkind.Invalid, "the image has too many pixels")
	ErrTooMuchMemory   = errkind.New(errkind.Invalid, "the image would take more memory to process than this server allows")
	ErrEmpty           = errkind.New(errkind.Invalid, "the file is empty")
)

// Sniff returns the content type of data's first bytes, by the WHATWG
// sniffing algorithm, and whether it is one we accept.
func Sniff(data []byte) (string, bool) {
	ct := http.DetectContentType(data)
	_, ok := Accepted[ct]
	return ct, ok
}

// Header is what an image's header says about it.
type Header struct {
	ContentType   string
	Width, Height int
	// Orientation is a JPEG's EXIF orientation (1–8), 1 for other types.
	Orientation int
	// DecodedBytes is what Go's decoder allocates for the image: width ×
	// height × the bytes a pixel of the type it decodes to takes (8 for
	// 16-bit RGBA PNGs, 4 for 8-bit ones, 1.5 for a 4:2:0 JPEG, 1 for
	// grey or paletted images, …), with what the decoder keeps besides
	// (a progressive JPEG's coefficients, a lossless WebP's transforms).
	DecodedBytes int64
	// Cost is DecodedBytes plus the copies and scaling work of making the
	// variants: the most memory Process is expected to hold, which is
	// what it takes from a node's decode budget.
	Cost int64
}

// Inspect reads what data says about itself without decoding it: type,
// dimensions and, from a walk of its structure up to the image data, what
// decoding and processing it would cost. Everything that would cost
// memory is refused here first: more than lim.Pixels pixels, or a Cost
// over lim.Bytes (zero: no limit).
func Inspect(data []byte, lim Limits) (Header, error) {
	hdr, _, err := inspect(data, lim)
	return hdr, err
}

// inspect is Inspect, and returns as well the deep check of the file's
// image data (nil where the walk itself is the whole check: JPEG, WebP),
// from the same walk, to run once the limits have passed.
func inspect(data []byte, lim Limits) (Header, func() error, error) {
	if len(data) == 0 {
		return Header{}, nil, ErrEmpty
	}
	ct, ok := Sniff(data)
	if !ok {
		return Header{}, nil, ErrUnsupportedType
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != Accepted[ct] {
		return Header{}, nil, ErrCorrupt
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Header{}, nil, ErrCorrupt
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.Pixels {
		return Header{}, nil, fmt.Errorf("%w: %d×%d is over %d pixels", ErrTooManyPixels, cfg.Width, cfg.Height, lim.Pixels)
	}
	hdr := Header{ContentType: ct, Width: cfg.Width, Height: cfg.Height, Orientation: 1}
	var copies bool
	var deep func() error
	switch ct {
	case "image/jpeg":
		j, err := scanJPEG(data)
		if err != nil || j.width != cfg.Width || j.height != cfg.Height {
			return Header{}, nil, ErrCorrupt
		}
		hdr.DecodedBytes, hdr.Orientation = j.decodeBytes(), jpegOrientation(data)
	case "image/png":
		p, err := scanPNG(data)
		if err != nil || p.width != cfg.Width || p.height != cfg.Height {
			return Header{}, nil, ErrCorrupt
		}
		hdr.DecodedBytes, copies, deep = p.decodeBytes(), p.copies(), p.deepCheck
	case "image/gif":
		g, err := scanGIF(data)
		if err != nil {
			return Header{}, nil, ErrCorrupt
		}
		hdr.DecodedBytes, copies, deep = g.decodeBytes(cfg.Width, cfg.Height), true, g.deepCheck
	case "image/webp":
		p, err := scanWebP(data)
		if err != nil {
			return Header{}, nil, ErrCorrupt
		}
		hdr.DecodedBytes, copies = p.decodeBytes(cfg.Width, cfg.Height), p.lossless || p.alpha
	}
	hdr.Cost = cost(cfg.Width, cfg.Height, hdr.DecodedBytes, copies)
	if lim.Bytes > 0 && hdr.Cost > lim.Bytes {
		return Header{}, nil, fmt.Errorf("%w: %d×%d needs about %d MiB, over the %d MiB allowed",
			ErrTooMuchMemory, cfg.Width, cfg.Height, hdr.Cost>>20, lim.Bytes>>20)
	}
	return hdr, deep, nil
}
