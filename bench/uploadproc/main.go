// Command uploadproc measures the image work of one upload. With -gen it
// writes a phone-like test JPEG (photographic texture and noise, EXIF
// orientation 6, camera tags and a GPS block); otherwise it runs
// media.Process on -in -n times and prints the CPU seconds (user+sys) and
// the peak RSS the process took, for bench/uploads.sh to compare with
// libvips. Built with -tags vips (cgo, libvips-dev), media.Process is the
// one that makes large JPEGs' variants with libvips.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"log"
	"math"
	"os"
	"runtime/pprof"
	"syscall"

	"github.com/photofeed/photofeed/internal/media"
)

func main() {
	gen := flag.String("gen", "", "write a test photo of this size (WxH, e.g. 4000x3000) to -out")
	out := flag.String("out", "photo.jpg", "where -gen writes")
	in := flag.String("in", "", "photo to process")
	n := flag.Int("n", 1, "times to process it")
	prof := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *gen != "" {
		var w, h int
		if _, err := fmt.Sscanf(*gen, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
			log.Fatalf("-gen %q: want WxH", *gen)
		}
		if err := os.WriteFile(*out, phone(w, h), 0o644); err != nil {
			log.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		log.Fatal(err)
	}
	lim := media.Limits{Pixels: 50_000_000, Bytes: 256 << 20}
	var sizes [3]int
	for range *n {
		v, err := media.Process(data, lim)
		if err != nil {
			log.Fatalf("process %s: %v", *in, err)
		}
		sizes = [3]int{len(v.Original.Data), len(v.Large.Data), len(v.Thumb.Data)}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		log.Fatal(err)
	}
	cpu := float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	fmt.Printf("cpu_s_per_image %.3f peak_rss_mb %.1f original_bytes %d large_bytes %d thumb_bytes %d\n",
		cpu/float64(*n), float64(ru.Maxrss)/1024, sizes[0], sizes[1], sizes[2])
}

// phone is a w×h JPEG at quality 92 (about what a phone writes) of smooth
// shapes, edges and sensor-like noise, stored on its side with EXIF
// orientation 6 as phones store portrait shots, with camera and GPS tags.
func phone(w, h int) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	seed := uint32(7)
	noise := func() float64 {
		seed = seed*1664525 + 1013904223
		return float64(seed>>24)/255 - 0.5
	}
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			l := 110 + 60*math.Sin(6*fx+3*fy) + 30*math.Sin(40*fx*fy) + 20*math.Sin(float64(x)/7)*math.Cos(float64(y)/11)
			if (x/250+y/250)%3 == 0 {
				l += 25 // edges
			}
			i := img.YOffset(x, y)
			img.Y[i] = clamp(l + 14*noise())
			c := img.COffset(x, y)
			img.Cb[c] = clamp(128 + 30*math.Sin(3*fx) + 4*noise())
			img.Cr[c] = clamp(128 + 30*math.Cos(4*fy) + 4*noise())
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 92}); err != nil {
		log.Fatal(err)
	}
	jpg := b.Bytes()
	out := append([]byte{}, jpg[:2]...)
	out = append(out, exif()...)
	return append(out, jpg[2:]...)
}

func clamp(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, v)))
}

// exif is an APP1 segment as a phone writes one: IFD0 with Make, Model and
// Orientation 6, and a GPS IFD with latitude and longitude.
func exif() []byte {
	le := binary.LittleEndian
	t := []byte("II*\x00\x08\x00\x00\x00")
	entry := func(tag, typ uint16, count, val uint32) {
		t = le.AppendUint16(t, tag)
		t = le.AppendUint16(t, typ)
		t = le.AppendUint32(t, count)
		t = le.AppendUint32(t, val)
	}
	// IFD0 at 8: 4 entries (2+48+4 bytes), then its data from 62.
	make_, model := "PhoneMaker\x00", "Phone 15 Pro Max\x00"
	t = le.AppendUint16(t, 4)
	entry(0x010F, 2, uint32(len(make_)), 62)
	entry(0x0110, 2, uint32(len(model)), uint32(62+len(make_)))
	entry(0x0112, 3, 1, 6)
	gps := uint32(62 + len(make_) + len(model))
	entry(0x8825, 4, 1, gps)
	t = le.AppendUint32(t, 0)
	t = append(t, make_...)
	t = append(t, model...)
	// GPS IFD: 4 entries, then 2×3 rationals.
	data := gps + 2 + 48 + 4
	t = le.AppendUint16(t, 4)
	entry(0x0001, 2, 2, 'N')
	entry(0x0002, 5, 3, data)
	entry(0x0003, 2, 2, 'E')
	entry(0x0004, 5, 3, data+24)
	t = le.AppendUint32(t, 0)
	for _, v := range []uint32{48, 1, 51, 1, 2958, 100, 2, 1, 17, 1, 4012, 100} {
		t = le.AppendUint32(t, v)
	}
	seg := append([]byte("Exif\x00\x00"), t...)
	app1 := []byte{0xFF, 0xE1}
	app1 = binary.BigEndian.AppendUint16(app1, uint16(len(seg)+2))
	return append(app1, seg...)
}
