package app_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/photofeed/photofeed/internal/media"
	"github.com/photofeed/photofeed/internal/testenv"
)

func pngChunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// truncatedPNG declares a w×h 16-bit RGBA image (8 bytes a pixel decoded)
// but carries only the start of its pixel data: Go's decoder allocates the
// whole image before finding out.
func truncatedPNG(w, h int) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 16, 6, 0, 0, 0) // depth 16, RGBA, deflate, filter 0, not interlaced
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, 1<<16))
	zw.Close()
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
	return append(out, pngChunk("IDAT", z.Bytes()[:min(z.Len(), 120)])...)
}

// validPNG16 is a w×h 16-bit RGBA PNG, whole and valid (its pixel data
// compresses to almost nothing): cheap to send, costly to decode.
func validPNG16(t *testing.T, w, h int) []byte {
	img := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i / 8 / w)
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Eight uploads in parallel of a costly PNG must not take the node's
// memory past its decode budget, however the node meets them: the
// hostile 7000×7000 16-bit file cut short (a few hundred bytes that decode
// to 392 MB) is refused from its header when it is over the budget, and
// by the structure check without decoding when it is not; valid costly
// files are accepted and decoded by their jobs, as many at once as the
// budget holds. Nothing is 5xx but a 503 with Retry-After (an upload that
// waited 5 s for one of the node's check slots: uploads do not decode).
func TestPNGFloodStaysWithinDecodeBudget(t *testing.T) {
	skipMemoryUnderRace(t)
	// What the node holds besides decodes: request bodies, buffers, and
	// the garbage collector's headroom over the live heap.
	const margin = 64 << 20
	tests := []struct {
		name   string
		budget int64
		file   []byte
		status int
	}{
		{"truncated, over the budget", 256 << 20, truncatedPNG(7000, 7000), 422},
		{"truncated, within a 1 GiB budget", 1 << 30, truncatedPNG(7000, 7000), 422},
		{"valid 1500×1000 16-bit, 64 MiB budget", 64 << 20, validPNG16(t, 1500, 1000), 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, "--decode-memory", strconv.FormatInt(tt.budget, 10), "--upload-wait", "0s")
			c := s.client(t)
			c.signup("flooder")
			base := rssBaseline(t)
			var wg sync.WaitGroup
			results := make(chan response, 8)
			for range 8 {
				wg.Go(func() { results <- c.upload("/v1/posts", tt.file, "flood") })
			}
			wg.Wait()
			close(results)
			counts := map[int]int{}
			var created []string
			for r := range results {
				counts[r.StatusCode]++
				switch {
				case r.StatusCode == tt.status && r.StatusCode == 201:
					var p post
					r.json(t, &p)
					created = append(created, p.ID)
				case r.StatusCode == tt.status:
					r.problem(t, tt.status)
				case r.StatusCode == 503:
					r.problem(t, 503)
					if r.Header.Get("Retry-After") == "" {
						t.Error("503 without Retry-After")
					}
				default:
					t.Errorf("status %d, want %d: %s", r.StatusCode, tt.status, r.Body)
				}
			}
			answered := procStatus(t, "VmHWM")
			deadline := time.Now().Add(60 * time.Second) // for all the posts together
			for _, id := range created {
				var p struct{ Status string }
				// A post that failed stops the wait at once.
				testenv.Poll(time.Until(deadline), func() bool {
					c.do("GET", "/v2/posts/"+id, nil).json(t, &p)
					return p.Status != "processing"
				})
				if p.Status != "ready" {
					t.Fatalf("post %s is %s", id, p.Status)
				}
			}
			peak := procStatus(t, "VmHWM")
			// A file refused before decoding costs nothing of the budget.
			bound := int64(margin)
			if tt.status == 201 || tt.budget < 392<<20 {
				bound += tt.budget
			}
			t.Logf("%d bytes ×8 in parallel, budget %d MiB: statuses %v; RSS %d MiB before; peak growth %d MiB by the answers, %d MiB by every post ready (bound %d MiB)",
				len(tt.file), tt.budget>>20, counts, base>>20, (answered-base)>>20, (peak-base)>>20, bound>>20)
			if peak-base > bound {
				t.Errorf("RSS grew %d MiB, over the %d MiB bound", (peak-base)>>20, bound>>20)
			}
		})
	}
}

// phonePhoto is a 4000×3000 (12 MP) textured JPEG, turned by EXIF
// orientation 6 as phones store portrait photos.
func phonePhoto(t *testing.T) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	seed := uint32(7)
	for i := range img.Y {
		seed = seed*1664525 + 1013904223
		img.Y[i] = uint8(i%4000/16) + uint8(seed>>28)
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = uint8(i/2000), uint8(i%2000/8)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	jpg := b.Bytes()
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08\x00\x01")
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112) // Orientation
	tiff = binary.BigEndian.AppendUint16(tiff, 3)      // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = append(tiff, 0, 6, 0, 0, 0, 0, 0, 0)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xFF, 0xE1)
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// One 12 MP phone photo, from upload to ready: the peak RSS and CPU it
// costs the node, logged. Before uploads stopped decoding (and before the
// upright copy, the RGBA copy and the scaling were made leaner) this was
// 284 MiB and 1.56 s of CPU; then 75–95 MiB and 0.75 s; with the original
// stripped rather than re-encoded and the scaling done in bands, 47–49 MiB.
func TestPhonePhotoUploadPeakRSS(t *testing.T) {
	skipMemoryUnderRace(t)
	s := start(t, "--upload-wait", "0s")
	c := s.client(t)
	c.signup("phone")
	photo := phonePhoto(t)

	base := rssBaseline(t)
	cpu0 := cpuTime(t)
	r := c.upload("/v1/posts", photo, "portrait")
	if r.StatusCode != 201 {
		t.Fatalf("upload: %d %s", r.StatusCode, r.Body)
	}
	answered := procStatus(t, "VmHWM")
	var p struct{ ID, Status string }
	r.json(t, &p)
	c.do("GET", "/v2/posts/"+p.ID, nil).json(t, &p)
	if !testenv.Poll(60*time.Second, func() bool {
		c.do("GET", "/v2/posts/"+p.ID, nil).json(t, &p)
		return p.Status != "processing"
	}) {
		t.Fatal("the post is still processing after 60 s")
	}
	peak := procStatus(t, "VmHWM")
	cpu := cpuTime(t) - cpu0
	hdr, err := media.Inspect(photo, media.Limits{Pixels: 50_000_000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("12 MP JPEG (%d KB, orientation 6; decoded %d MiB, estimated cost %d MiB): RSS %d MiB before; peak growth %d MiB by the 201, %d MiB by ready; %.2f s CPU; status %s",
		len(photo)>>10, hdr.DecodedBytes>>20, hdr.Cost>>20, base>>20, (answered-base)>>20, (peak-base)>>20, cpu.Seconds(), p.Status)
	if p.Status != "ready" {
		t.Fatalf("status %s, want ready", p.Status)
	}
	// The budget is only as good as the estimate it is charged: the
	// process grows by no more than it, plus the flood test's margin.
	if margin := int64(64 << 20); peak-base > hdr.Cost+margin {
		t.Errorf("RSS grew %d MiB, over the %d MiB estimate + %d MiB", (peak-base)>>20, hdr.Cost>>20, margin>>20)
	}
}
