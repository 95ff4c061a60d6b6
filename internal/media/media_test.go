package media_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"syscall"
	"testing"

	"github.com/photofeed/photofeed/internal/errkind"
	"github.com/photofeed/photofeed/internal/media"
)

// limits are the defaults: 50 M pixels, a 256 MiB decode budget.
var limits = media.Limits{Pixels: 50_000_000, Bytes: 256 << 20}

func solid(w, h int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation inserts an EXIF APP1 segment carrying orientation o, and
// a GPS-looking tag, right after the JPEG's SOI marker.
func withOrientation(jpg []byte, o uint16) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	entries := []byte{0x00, 0x02} // two entries
	entry := make([]byte, 12)
	binary.BigEndian.PutUint16(entry[0:], 0x0112)
	binary.BigEndian.PutUint16(entry[2:], 3)
	binary.BigEndian.PutUint32(entry[4:], 1)
	binary.BigEndian.PutUint16(entry[8:], o)
	gps := make([]byte, 12)
	binary.BigEndian.PutUint16(gps[0:], 0x8825) // GPS IFD pointer
	binary.BigEndian.PutUint16(gps[2:], 4)
	binary.BigEndian.PutUint32(gps[4:], 1)
	tiff = append(append(append(append(tiff, entries...), entry...), gps...), 0, 0, 0, 0)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{}, jpg[:2]...)
	out = append(out, app1...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestProcessVariants(t *testing.T) {
	tests := []struct {
		name          string
		data          []byte
		wantType      string
		origW, origH  int
		largeW, thumb int
	}{
		{"small jpeg stays small", encodeJPEG(t, solid(200, 100, color.RGBA{200, 10, 10, 255})), "image/jpeg", 200, 100, 200, 200},
		{"big jpeg scales", encodeJPEG(t, solid(2400, 1200, color.White)), "image/jpeg", 2400, 1200, 1080, 320},
		{"transparent png stays png", encodePNG(t, solid(1500, 3000, color.NRGBA{0, 0, 255, 100})), "image/png", 1500, 3000, 540, 160},
		{"rotated jpeg is turned upright", withOrientation(encodeJPEG(t, solid(400, 100, color.White)), 6), "image/jpeg", 100, 400, 100, 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := media.Process(tt.data, limits)
			if err != nil {
				t.Fatal(err)
			}
			if v.Original.ContentType != tt.wantType {
				t.Errorf("original type %s, want %s", v.Original.ContentType, tt.wantType)
			}
			if v.Original.Width != tt.origW || v.Original.Height != tt.origH {
				t.Errorf("original %d×%d, want %d×%d", v.Original.Width, v.Original.Height, tt.origW, tt.origH)
			}
			if v.Large.Width != tt.largeW {
				t.Errorf("large width %d, want %d", v.Large.Width, tt.largeW)
			}
			if max(v.Thumb.Width, v.Thumb.Height) > media.ThumbSize || v.Thumb.Width != tt.thumb {
				t.Errorf("thumb %d×%d, want width %d", v.Thumb.Width, v.Thumb.Height, tt.thumb)
			}
			o := orientationOf(tt.data)
			for i, vv := range []media.Variant{v.Thumb, v.Large, v.Original} {
				var exif []byte
				if i == 2 { // the scaled variants are upright and carry nothing
					exif = onlyOrientation(o)
				}
				if at := bytes.Index(vv.Data, []byte("Exif")); at >= 0 && (exif == nil || !bytes.Equal(vv.Data[at-4:at+len(exif)-4], exif)) {
					t.Error("variant carries EXIF beyond an orientation")
				}
				if exif != nil && !bytes.Contains(vv.Data, exif) {
					t.Error("original lost its orientation")
				}
				cfg, _, err := image.DecodeConfig(bytes.NewReader(vv.Data))
				w, h := vv.Width, vv.Height
				if exif != nil && o >= 5 {
					w, h = h, w // stored on its side
				}
				if err != nil || cfg.Width != w || cfg.Height != h {
					t.Errorf("variant does not decode to its stated size: %v %+v", err, cfg)
				}
			}
		})
	}
}

// orientationOf is the orientation withOrientation wrote into a JPEG, or 1.
func orientationOf(jpg []byte) int {
	hdr, err := media.Inspect(jpg, limits)
	if err != nil {
		return 1
	}
	return hdr.Orientation
}

// onlyOrientation is the APP1 segment an original with orientation o
// other than 1 must carry, and nothing more: Exif, a big-endian TIFF
// header, an IFD0 of one entry (Orientation, SHORT, one value).
func onlyOrientation(o int) []byte {
	if o <= 1 {
		return nil
	}
	return []byte("\xff\xe1\x00\x22Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00" + string([]byte{byte(o)}) + "\x00\x00\x00\x00\x00\x00")
}

// A header that claims 100,000 × 100,000 pixels must be refused before any
// pixel memory is allocated.
func TestDecompressionBombRefusedFromHeader(t *testing.T) {
	small := encodePNG(t, solid(4, 4, color.White))
	binary.BigEndian.PutUint32(small[16:], 100_000) // IHDR width
	binary.BigEndian.PutUint32(small[20:], 100_000) // IHDR height
	binary.BigEndian.PutUint32(small[29:], crc32.ChecksumIEEE(small[12:29]))
	_, err := media.Process(small, limits)
	if !errors.Is(err, media.ErrTooManyPixels) {
		t.Fatalf("err = %v, want ErrTooManyPixels", err)
	}
	allocs := testing.AllocsPerRun(5, func() { media.Inspect(small, limits) })
	if allocs > 50 {
		t.Errorf("Inspect allocated %v times for a bomb header", allocs)
	}
}

func TestProcessRejects(t *testing.T) {
	gifImg := image.NewPaletted(image.Rect(0, 0, 10, 10), []color.Color{color.Black, color.White})
	var g bytes.Buffer
	if err := gif.Encode(&g, gifImg, nil); err != nil {
		t.Fatal(err)
	}
	jpg := encodeJPEG(t, solid(50, 50, color.White))
	tests := []struct {
		name string
		data []byte
		kind errkind.Kind
	}{
		{"empty", nil, errkind.Invalid},
		{"text", []byte("hello, this is not an image at all"), errkind.Unsupported},
		{"pdf", []byte("%PDF-1.7\n..."), errkind.Unsupported},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), errkind.Unsupported},
		{"truncated jpeg", jpg[:len(jpg)/3], errkind.Invalid},
		{"png magic only", []byte("\x89PNG\r\n\x1a\n"), errkind.Invalid},
		{"over pixel limit", g.Bytes(), errkind.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := limits
			if tt.name == "over pixel limit" {
				lim.Pixels = 99
			}
			_, err := media.Process(tt.data, lim)
			if err == nil || errkind.Of(err) != tt.kind {
				t.Fatalf("err = %v (kind %v), want kind %v", err, errkind.Of(err), tt.kind)
			}
		})
	}
	if _, err := media.Process(g.Bytes(), media.Limits{Pixels: 100}); err != nil {
		t.Fatalf("gif at the limit: %v", err)
	}
}

func FuzzProcess(f *testing.F) {
	f.Add(encodeJPEG(f, solid(8, 8, color.White)))
	f.Add(withOrientation(encodeJPEG(f, solid(8, 4, color.White)), 8))
	f.Add(encodePNG(f, solid(3, 9, color.NRGBA{1, 2, 3, 4})))
	f.Add([]byte("GIF89a"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8 "))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := media.Process(data, media.Limits{Pixels: 1 << 16, Bytes: 64 << 20})
		if err != nil {
			if errkind.Of(err) == errkind.Internal {
				t.Fatalf("bad input gave an internal error: %v", err)
			}
			return
		}
		if v.Original.Width*v.Original.Height > 1<<16 {
			t.Fatalf("accepted %d×%d over the pixel limit", v.Original.Width, v.Original.Height)
		}
	})
}

// photoLike returns a JPEG near the 500 KB average photo of the capacity
// estimate: a 2000×1500 image with enough texture not to compress away.
func photoLike(tb testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2000, 1500))
	seed := uint32(1)
	for i := range img.Pix {
		seed = seed*1664525 + 1013904223
		img.Pix[i] = uint8(i/4%2000/8) + uint8(seed>>28)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// BenchmarkProcess is one upload's image work (decode, three variants,
// encode) on one core: the cost a worker pays per photo. cpu-ns/op is the
// process's user+sys CPU, which a machine shared with other work leaves
// truer than wall time. Phone12MP is a 4000×3000 photo at quality 92 (a
// phone's 3 MB), stored on its side with EXIF orientation 6.
func BenchmarkProcess(b *testing.B) {
	benchProcess(b, photoLike(b))
}

func BenchmarkProcessPhone12MP(b *testing.B) {
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	seed := uint32(7)
	for i := range img.Y {
		seed = seed*1664525 + 1013904223
		img.Y[i] = uint8(i%4000/16) + uint8(seed>>27)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(i/2000), uint8(i%2000/8)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		b.Fatal(err)
	}
	benchProcess(b, withOrientation(buf.Bytes(), 6))
}

func benchProcess(b *testing.B, data []byte) {
	b.ReportMetric(float64(len(data)), "input-bytes")
	b.SetBytes(int64(len(data)))
	cpu0 := cpuNanos(b)
	for b.Loop() {
		if _, err := media.Process(data, limits); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuNanos(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuNanos(tb testing.TB) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// A JPEG small and upright enough to need no scaling or turning is served
// as its stripped self for all three variants (one stored object); a
// turned one is not.
func TestSmallUprightJPEGIsItsOwnVariants(t *testing.T) {
	small := encodeJPEG(t, solid(300, 200, color.RGBA{20, 90, 200, 255}))
	v, err := media.Process(small, limits)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Large.Data, v.Original.Data) || !bytes.Equal(v.Thumb.Data, v.Original.Data) || v.Thumb.Width != 300 {
		t.Errorf("variants of a 300×200 photo differ from its original: %d, %d, %d bytes", len(v.Thumb.Data), len(v.Large.Data), len(v.Original.Data))
	}
	v, err = media.Process(withOrientation(small, 8), limits)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(v.Large.Data, v.Original.Data) || v.Large.Width != 200 || bytes.Contains(v.Large.Data, []byte("Exif")) {
		t.Errorf("a turned photo's large variant is not a re-encode, upright: %d×%d", v.Large.Width, v.Large.Height)
	}
}
