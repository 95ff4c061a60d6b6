package app_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"github.com/photofeed/photofeed/internal/app"
)

// withCameraExif puts an Exif APP1 after jpg's SOI as a phone writes one:
// orientation 6, a camera make and a GPS IFD, each with a string that
// must not be served.
func withCameraExif(jpg []byte) []byte {
	le := binary.LittleEndian
	t := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x03\x00")
	entry := func(tag, typ uint16, count, val uint32) {
		t = le.AppendUint16(t, tag)
		t = le.AppendUint16(t, typ)
		t = le.AppendUint32(t, count)
		t = le.AppendUint32(t, val)
	}
	entry(0x010F, 2, 12, 50) // Make, at 50
	entry(0x0112, 3, 1, 6)   // Orientation
	entry(0x8825, 4, 1, 62)  // GPS IFD, at 62
	t = append(t, 0, 0, 0, 0)
	t = append(t, "CAMERA-MAKE\x00"...)
	t = append(t, 1, 0, 0x1B, 0, 7, 0, 10, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0) // GPSProcessingMethod at 80
	t = append(t, "GPS-SECRET"...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xFF, 0xE1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(t)+2))
	out = append(out, t...)
	return append(out, jpg[2:]...)
}

// Every served image of a phone photo, the original too, is free of its
// camera and GPS tags; the scaled ones are upright, the original keeps
// only its orientation, so viewers still show it upright.
func TestServedImagesCarryNoCameraOrGPS(t *testing.T) {
	s := start(t, "--upload-wait", "1m")
	c := s.client(t)
	c.signup("phone")
	photo := withCameraExif(app.SampleJPEG(t, 400, 300, color.RGBA{200, 120, 40, 255}))
	r := c.upload("/v1/posts", photo, "portrait")
	var p post
	r.json(t, &p)
	if r.StatusCode != 201 {
		t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
	}
	onlyOrientation := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00")
	for _, im := range []struct {
		name, url string
		w, h      int // as stored
	}{{"thumb", p.Images.Thumb, 240, 320}, {"large", p.Images.Large, 300, 400}, {"original", p.Images.Original, 400, 300}} {
		m := c.do("GET", im.url, nil)
		if m.StatusCode != 200 {
			t.Fatalf("GET %s: %d", im.name, m.StatusCode)
		}
		for _, secret := range []string{"CAMERA-MAKE", "GPS-SECRET", "II*\x00"} {
			if bytes.Contains(m.Body, []byte(secret)) {
				t.Errorf("%s carries %q", im.name, secret)
			}
		}
		hasExif := bytes.Contains(m.Body, []byte("Exif"))
		if im.name == "original" && (!bytes.Contains(m.Body, onlyOrientation) || bytes.Count(m.Body, []byte("Exif")) != 1) {
			t.Errorf("original: no one-tag orientation Exif")
		} else if im.name != "original" && hasExif {
			t.Errorf("%s carries Exif", im.name)
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(m.Body))
		if err != nil || cfg.Width != im.w || cfg.Height != im.h {
			t.Errorf("%s: %v %d×%d, want %d×%d", im.name, err, cfg.Width, cfg.Height, im.w, im.h)
		}
	}
}
