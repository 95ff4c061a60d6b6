package media_test

import (
	"bytes"
	"compress/lzw"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"os"
	"runtime"
	"testing"

	"github.com/photofeed/photofeed/internal/media"
)

func chunk(typ string, data []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[4:]))
}

// rawPNG builds a w×h 8-bit RGB PNG whose image data is the zlib stream of
// raw (filter bytes and pixels), every chunk well formed.
func rawPNG(w, h int, raw []byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	out := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", z.Bytes())...)
	return append(out, chunk("IEND", nil)...)
}

func encodeGIF(t testing.TB, w, h int) []byte {
	img := image.NewPaletted(image.Rect(0, 0, w, h), []color.Color{color.Black, color.White})
	for i := range img.Pix {
		img.Pix[i] = uint8(i % 3 % 2)
	}
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// handGIF builds a GIF89a of a 2-colour palette and one w×h frame of pix
// (indexes, written as given), with the image descriptor's flags.
func handGIF(w, h int, pix []byte, flags byte) []byte {
	out := []byte("GIF89a")
	out = binary.LittleEndian.AppendUint16(out, uint16(w))
	out = binary.LittleEndian.AppendUint16(out, uint16(h))
	out = append(out, 0x80, 0, 0, 0, 0, 0, 255, 255, 255) // 2 colours: black, white
	out = append(out, 0x2C, 0, 0, 0, 0)
	out = binary.LittleEndian.AppendUint16(out, uint16(w))
	out = binary.LittleEndian.AppendUint16(out, uint16(h))
	out = append(out, flags, 2)
	var z bytes.Buffer
	zw := lzw.NewWriter(&z, lzw.LSB, 2)
	zw.Write(pix)
	zw.Close()
	for data := z.Bytes(); len(data) > 0; {
		n := min(len(data), 255)
		out = append(append(out, byte(n)), data[:n]...)
		data = data[n:]
	}
	return append(out, 0, 0x3B)
}

func readFile(t testing.TB, name string) []byte {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Validate finds, without decoding, the damage a decode would find: files
// cut short, broken checksums, image data shorter or longer than the
// header says. (Bad entropy-coded data in a JPEG or WebP is left to the
// decode in the thumbnail job.)
func TestValidateFindsDamageWithoutDecoding(t *testing.T) {
	jpg := encodeJPEG(t, solid(64, 48, color.RGBA{10, 200, 30, 255}))
	pngFile := encodePNG(t, solid(40, 30, color.NRGBA{1, 2, 3, 4}))
	gifFile := encodeGIF(t, 30, 20)
	lossy, lossless := readFile(t, "blue-purple-pink.lossy.webp"), readFile(t, "gopher-doc.8bpp.lossless.webp")
	row := append([]byte{0}, make([]byte, 3*10)...)
	rows := func(n int) []byte { return bytes.Repeat(row, n) }

	badCRC := bytes.Clone(pngFile)
	badCRC[len(badCRC)-20] ^= 1 // inside the last IDAT's data
	badFilter := rows(10)
	badFilter[31*4] = 9
	eofless := bytes.Clone(jpg[:len(jpg)-2])
	shortGIF := bytes.Clone(gifFile)
	// The frame's data is one sub-block then the terminator: claim a taller
	// frame (and screen) than it holds.
	binary.LittleEndian.PutUint16(shortGIF[8:], 40)
	for i := 13; i < len(shortGIF); i++ {
		if shortGIF[i] == 0x2C {
			binary.LittleEndian.PutUint16(shortGIF[i+7:], 40)
			break
		}
	}

	// beforeIEND inserts chunks before a PNG's final IEND chunk.
	beforeIEND := func(png []byte, chunks ...[]byte) []byte {
		out := bytes.Clone(png[:len(png)-12])
		for _, c := range chunks {
			out = append(out, c...)
		}
		return append(out, png[len(png)-12:]...)
	}
	good := rawPNG(10, 10, rows(10))
	// A metadata chunk after the image data, then cut in half.
	exifLost := append(bytes.Clone(lossy), "EXIF\x64\x00\x00\x00"...)
	exifLost = append(exifLost, make([]byte, 100)...)
	binary.LittleEndian.PutUint32(exifLost[4:], uint32(len(exifLost)-8))
	exifLost = exifLost[:len(exifLost)-50]

	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"jpeg", jpg, true},
		{"png", pngFile, true},
		{"gif", gifFile, true},
		{"lossy webp", lossy, true},
		{"lossless webp", lossless, true},
		{"png built by hand", rawPNG(10, 10, rows(10)), true},
		{"jpeg cut in its data", jpg[:len(jpg)*2/3], false},
		{"jpeg without EOI", eofless, false},
		{"jpeg headers only", jpg[:200], false},
		{"png cut short", pngFile[:len(pngFile)-30], false},
		{"png without IEND", pngFile[:len(pngFile)-12], false},
		{"png with a bad CRC", badCRC, false},
		{"png with rows missing, chunks intact", rawPNG(10, 10, rows(9)), false},
		{"png with a row too many", rawPNG(10, 10, rows(11)), false},
		{"png with a bad filter byte", rawPNG(10, 10, badFilter), false},
		{"png with a stray IDAT after its data (ignored)", beforeIEND(good, chunk("tEXt", []byte("k\x00v")), chunk("IDAT", []byte("junk"))), true},
		{"png with tRNS after its data", beforeIEND(good, chunk("tRNS", make([]byte, 6))), false},
		{"gif cut in its frame", gifFile[:len(gifFile)-10], false},
		{"gif frame short of pixels", shortGIF, false},
		{"gif built by hand", handGIF(20, 10, bytes.Repeat([]byte{0, 1}, 100), 0), true},
		{"interlaced gif", handGIF(20, 10, bytes.Repeat([]byte{0, 1}, 100), 0x40), true},
		{"gif with a pixel past its palette", handGIF(20, 10, append(bytes.Repeat([]byte{0, 1}, 99), 1, 3), 0), false},
		{"lossy webp cut short", lossy[:len(lossy)-100], false},
		{"lossless webp cut short", lossless[:len(lossless)/2], false},
		{"webp cut short after its image data", exifLost, true},
		// image/png's and image/jpeg's own bad files.
		{"png: bad crc32", readFile(t, "invalid-crc32.png"), false},
		{"png: no IEND", readFile(t, "invalid-noend.png"), false},
		{"png: truncated", readFile(t, "invalid-trunc.png"), false},
		{"png: bad zlib data", readFile(t, "invalid-zlib.png"), false},
		{"progressive jpeg with its last scans missing", readFile(t, "video-001.progressive.truncated.jpeg"), true},
		{"interlaced png", readFile(t, "benchRGB-interlace.png"), true},
		{"progressive jpeg", readFile(t, "video-001.q50.444.progressive.jpeg"), true},
		{"cmyk jpeg", readFile(t, "video-001.cmyk.jpeg"), true},
		{"lossy webp with alpha", readFile(t, "yellow_rose.lossy-with-alpha.webp"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := media.Validate(tt.data, limits)
			if tt.ok && err != nil {
				t.Fatalf("valid file refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, media.ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			// The decoder agrees: what Validate passes decodes, what it
			// refuses does not.
			_, _, derr := image.Decode(bytes.NewReader(tt.data))
			if (derr == nil) != tt.ok {
				t.Fatalf("image.Decode: %v, but Validate says ok=%v", derr, tt.ok)
			}
		})
	}
}

// The truncated 16-bit bomb: 7000×7000 RGBA at 8 bytes a pixel is 392 MB
// decoded; from its header alone it is over a 256 MiB budget.
func TestDecodeCostFromHeader(t *testing.T) {
	ihdr := binary.BigEndian.AppendUint32(nil, 7000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 7000)
	ihdr = append(ihdr, 16, 6, 0, 0, 0)
	bomb := append([]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr)...)
	bomb = append(bomb, chunk("IDAT", []byte{0x78, 0x9c, 0x62})...)
	bomb = append(bomb, chunk("IEND", nil)...)
	_, err := media.Inspect(bomb, limits)
	if !errors.Is(err, media.ErrTooMuchMemory) {
		t.Fatalf("err = %v, want ErrTooMuchMemory", err)
	}
	hdr, err := media.Inspect(bomb, media.Limits{Pixels: 50_000_000})
	if err != nil || hdr.DecodedBytes < 7000*7000*8 {
		t.Fatalf("decoded bytes %d (%v), want at least %d", hdr.DecodedBytes, err, 7000*7000*8)
	}
	allocs := testing.AllocsPerRun(5, func() { media.Inspect(bomb, limits) })
	if allocs > 60 {
		t.Errorf("Inspect allocated %v times", allocs)
	}
}

// DecodedBytes is honest: what the decoder really allocates (measured) is
// within a small allowance of it, for each type Go decodes to.
func TestDecodedBytesMatchesTheDecoder(t *testing.T) {
	pngOf := func(img image.Image) []byte { return encodePNG(t, img) }
	r := image.Rect(0, 0, 1200, 900)
	opaque16 := image.NewRGBA64(r)
	for i := range opaque16.Pix {
		opaque16.Pix[i] = 0xff
	}
	opaque8 := image.NewRGBA(r)
	for i := range opaque8.Pix {
		opaque8.Pix[i] = 0xff
	}
	tests := []struct {
		name string
		data []byte
		// over is how many times the real allocation DecodedBytes may be:
		// lossless WebP data is counted as if it had a colour-indexing
		// transform (see webpInfo.decodeBytes).
		over float64
	}{
		{"jpeg 4:2:0", encodeJPEG(t, solid(1200, 900, color.White)), 0},
		{"jpeg grey", encodeJPEG(t, image.NewGray(r)), 0},
		{"png gray", pngOf(image.NewGray(r)), 0},
		{"png gray16", pngOf(image.NewGray16(r)), 0},
		{"png rgb", pngOf(opaque8), 0},
		{"png rgba", pngOf(solid(1200, 900, color.NRGBA{1, 2, 3, 4})), 0},
		{"png rgb 16-bit", pngOf(opaque16), 0},
		{"png rgba 16-bit", pngOf(image.NewNRGBA64(r)), 0},
		{"png paletted", pngOf(image.NewPaletted(r, []color.Color{color.Black, color.White})), 0},
		{"gif", encodeGIF(t, 1200, 900), 0},
		{"interlaced gif", handGIF(1200, 900, make([]byte, 1200*900), 0x40), 0},
		{"lossy webp", readFile(t, "blue-purple-pink.lossy.webp"), 0},
		{"lossless webp", readFile(t, "gopher-doc.8bpp.lossless.webp"), 0},
		{"lossy webp with alpha", readFile(t, "yellow_rose.lossy-with-alpha.webp"), 2},
		{"jpeg 4:1:0", readFile(t, "video-001.q50.410.jpeg"), 0},
		{"progressive jpeg 4:4:4", readFile(t, "video-001.q50.444.progressive.jpeg"), 0},
		{"cmyk jpeg", readFile(t, "video-001.cmyk.jpeg"), 0},
		{"interlaced png", readFile(t, "benchRGB-interlace.png"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr, err := media.Inspect(tt.data, limits)
			if err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			if _, _, err := image.Decode(bytes.NewReader(tt.data)); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			got := int64(after.TotalAlloc - before.TotalAlloc)
			t.Logf("%d×%d: decoder allocated %d bytes, DecodedBytes %d, Cost %d", hdr.Width, hdr.Height, got, hdr.DecodedBytes, hdr.Cost)
			// The decoders' fixed buffers (zlib's window, Huffman tables,
			// bufio) come on top of the pixels.
			const fixed = 96 << 10
			if got > hdr.DecodedBytes+fixed {
				t.Errorf("the decoder allocated %d bytes, over DecodedBytes %d + %d", got, hdr.DecodedBytes, fixed)
			}
			if over := max(tt.over, 1.1); float64(hdr.DecodedBytes) > over*float64(got)+fixed {
				t.Errorf("DecodedBytes %d is far over the %d allocated", hdr.DecodedBytes, got)
			}
			if hdr.Cost < hdr.DecodedBytes {
				t.Errorf("Cost %d under DecodedBytes %d", hdr.Cost, hdr.DecodedBytes)
			}
		})
	}
}

// FuzzValidate: the structure walks never panic, and never refuse a file
// the decoder reads (a wrong refusal would turn good photos away).
func FuzzValidate(f *testing.F) {
	f.Add(encodeJPEG(f, solid(8, 8, color.White)))
	f.Add(encodePNG(f, solid(3, 9, color.NRGBA{1, 2, 3, 4})))
	f.Add(encodeGIF(f, 5, 4))
	f.Add(readFile(f, "blue-purple-pink.lossy.webp"))
	f.Add(readFile(f, "gopher-doc.8bpp.lossless.webp"))
	lim := media.Limits{Pixels: 1 << 16, Bytes: 64 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		hdr, err := media.Validate(data, lim)
		if err == nil && int64(hdr.Width)*int64(hdr.Height) > lim.Pixels {
			t.Fatalf("accepted %d×%d over the pixel limit", hdr.Width, hdr.Height)
		}
		if _, ierr := media.Inspect(data, lim); ierr != nil {
			return // refused from the header: never decoded
		}
		if _, _, derr := image.Decode(bytes.NewReader(data)); derr == nil && err != nil {
			t.Fatalf("Validate refused a file the decoder reads: %v", err)
		}
	})
}

// Validating an image costs its checks' buffers, not its pixels: a
// 3000×3000 16-bit PNG (72 MB decoded) and a 4000×3000 JPEG are checked
// in well under a megabyte of allocation.
func TestValidateAllocatesNoPixels(t *testing.T) {
	big16 := image.NewNRGBA64(image.Rect(0, 0, 3000, 3000))
	for i := range big16.Pix {
		big16.Pix[i] = uint8(i / 24000)
	}
	photo := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"png 16-bit 3000×3000", encodePNG(t, big16)},
		{"jpeg 4000×3000", encodeJPEG(t, photo)},
		{"gif 3000×3000", encodeGIF(t, 3000, 3000)},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		hdr, err := media.Validate(tt.data, limits)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s (%d KB): Validate allocated %d KB; decoding would take %d MB", tt.name, len(tt.data)>>10, got>>10, hdr.DecodedBytes/1e6)
		if got > 1<<20 {
			t.Errorf("%s: Validate allocated %d bytes", tt.name, got)
		}
	}
}
