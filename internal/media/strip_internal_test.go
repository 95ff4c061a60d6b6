package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// segment is a marker segment: FF, marker, length, data.
func segment(marker byte, data string) []byte {
	s := []byte{0xFF, marker}
	s = binary.BigEndian.AppendUint16(s, uint16(len(data)+2))
	return append(s, data...)
}

// tiffWithGPS is an Exif APP1's data as a camera writes it: IFD0 with
// Make and Orientation o, and a pointer to a GPS IFD.
func tiffWithGPS(o int) string {
	t := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00\x03\x00")
	entry := func(tag, typ uint16, count, val uint32) {
		t = binary.LittleEndian.AppendUint16(t, tag)
		t = binary.LittleEndian.AppendUint16(t, typ)
		t = binary.LittleEndian.AppendUint32(t, count)
		t = binary.LittleEndian.AppendUint32(t, val)
	}
	entry(0x010F, 2, 4, 'S'|'o'<<8|'n'<<16)
	entry(0x0112, 3, 1, uint32(o))
	entry(0x8825, 4, 1, 50)
	t = append(t, 0, 0, 0, 0)
	t = append(t, "\x01\x00\x02\x00\x02\x00\x02\x00\x00\x00N\x00\x00\x00\x00\x00\x00\x00GPS-SECRET"...)
	return string(t)
}

// cameraJPEG is a small photo with every kind of segment a camera or an
// editor writes, and bytes after its end.
func cameraJPEG(t testing.TB, o int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 67, 45))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7 / 3)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	jpg := b.Bytes()
	out := append([]byte{}, jpg[:2]...)
	for _, s := range [][]byte{
		segment(0xE0, "JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x01\x01\xAA\xBB\xCC"), // with a 1×1 thumbnail
		segment(0xE1, tiffWithGPS(o)),
		segment(0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>CreatorTool</x:xmpmeta>"),
		segment(0xE2, "ICC_PROFILE\x00\x01\x01colour-profile"),
		segment(0xE2, "MPF\x00second-picture"),
		segment(0xED, "Photoshop 3.0\x008BIM-IPTC-byline"),
		segment(0xEE, "Adobe\x00\x64\x00\x00\x00\x00\x01"),
		segment(0xE5, "maker-data"),
		segment(0xFE, "a comment"),
	} {
		out = append(out, s...)
	}
	out = append(out, jpg[2:]...)
	return append(out, "trailer-after-EOI"...)
}

// checkStripped fails unless out holds no metadata but JFIF (without a
// thumbnail), an ICC profile, Adobe's segment and the one-tag Exif for
// orientation o, and decodes to in's pixels.
func checkStripped(t *testing.T, in, out []byte, o int) {
	t.Helper()
	err := walkJPEG(out, func(s jpegSegment) bool {
		switch {
		case s.marker == 0xE0 && len(s.data) > 14:
			t.Errorf("APP0 of %d bytes: a thumbnail is left", len(s.data))
		case s.marker == 0xE1:
			if want := exifOrientation(o); o <= 1 || !bytes.Equal(out[s.start:s.end], want) {
				t.Errorf("APP1 %q left (orientation %d)", s.data, o)
			}
		case s.marker == 0xE2 && !bytes.HasPrefix(s.data, []byte("ICC_PROFILE\x00")),
			s.marker == 0xEE && !bytes.HasPrefix(s.data, []byte("Adobe")),
			s.marker >= 0xE3 && s.marker <= 0xED, s.marker == 0xEF, s.marker == 0xFE:
			t.Errorf("segment %#x %q left", s.marker, s.data)
		}
		return true
	})
	if err != nil {
		t.Fatalf("stripped JPEG does not walk: %v", err)
	}
	if got := jpegOrientation(out); got != max(o, 1) && o <= 8 {
		t.Errorf("orientation %d, want %d", got, o)
	}
	want, err := jpeg.Decode(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("stripped JPEG does not decode: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("stripped JPEG decodes to other pixels")
	}
}

func TestStripJPEG(t *testing.T) {
	for _, o := range []int{1, 3, 6, 8} {
		in := cameraJPEG(t, o)
		if got := jpegOrientation(in); got != o {
			t.Fatalf("test photo has orientation %d, want %d", got, o)
		}
		out, err := stripJPEG(in, o)
		if err != nil {
			t.Fatal(err)
		}
		checkStripped(t, in, out, o)
		for _, secret := range []string{"GPS-SECRET", "Son", "CreatorTool", "IPTC", "comment", "maker-data", "second-picture", "trailer", "\xAA\xBB\xCC"} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("orientation %d: %q left", o, secret)
			}
		}
		for _, kept := range []string{"ICC_PROFILE\x00\x01\x01colour-profile", "Adobe\x00\x64"} {
			if !bytes.Contains(out, []byte(kept)) {
				t.Errorf("orientation %d: %q dropped", o, kept)
			}
		}
		// The image data is the upload's, byte for byte.
		sos := bytes.Index(in, []byte{0xFF, 0xDA})
		end := bytes.Index(in, []byte("trailer"))
		if !bytes.HasSuffix(out, in[sos:end]) {
			t.Errorf("orientation %d: scan data changed", o)
		}
	}
}

func FuzzStripJPEG(f *testing.F) {
	f.Add(cameraJPEG(f, 6))
	f.Add(cameraJPEG(f, 1))
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 9, 17)), nil)
	f.Add(b.Bytes())
	b.Reset()
	cmyk := image.NewCMYK(image.Rect(0, 0, 5, 5))
	cmyk.Set(1, 1, color.CMYK{1, 2, 3, 4})
	jpeg.Encode(&b, cmyk, nil)
	f.Add(b.Bytes())
	jpegs, _ := filepath.Glob("testdata/*.jpeg") // CMYK with Adobe's segment, progressive, 4:1:0
	for _, name := range jpegs {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		j, err := scanJPEG(in)
		if err != nil || j.width*j.height > 1<<16 {
			return
		}
		if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
			return
		}
		o := jpegOrientation(in)
		out, err := stripJPEG(in, o)
		if err != nil {
			t.Fatalf("a JPEG that scans and decodes does not strip: %v", err)
		}
		checkStripped(t, in, out, o)
	})
}
