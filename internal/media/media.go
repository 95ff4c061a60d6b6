// Package media turns an uploaded file into the image variants photofeed
// serves: it checks what the bytes are (not what the client says), refuses
// decompression bombs from the header alone, applies EXIF orientation and
// re-encodes every variant, which strips all metadata (EXIF, GPS).
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
}

// Inspect reads only the header of data: type and dimensions. Everything
// that would cost memory to decode is refused here first.
func Inspect(data []byte, maxPixels int64) (Header, error) {
	if len(data) == 0 {
		return Header{}, ErrEmpty
	}
	ct, ok := Sniff(data)
	if !ok {
		return Header{}, ErrUnsupportedType
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || format != Accepted[ct] {
		return Header{}, ErrCorrupt
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return Header{}, ErrCorrupt
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return Header{}, fmt.Errorf("%w: %d×%d is over %d pixels", ErrTooManyPixels, cfg.Width, cfg.Height, maxPixels)
	}
	return Header{ContentType: ct, Width: cfg.Width, Height: cfg.Height}, nil
}
