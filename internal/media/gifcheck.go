package media

import (
	"compress/lzw"
	"encoding/binary"
	"errors"
	"io"
)

var errGIF = errors.New("gif")

// gifInfo is what a GIF's blocks say about decoding its first frame.
type gifInfo struct {
	interlaced bool // image/gif de-interlaces into a second copy
	// The first frame's compressed data (its sub-blocks), for deepCheck.
	frame    []byte
	litWidth int
	pixels   int64
	palette  int
}

// decodeBytes is what image/gif allocates for the first frame of a GIF
// whose screen is w×h: a byte a pixel, twice for an interlaced frame.
func (g gifInfo) decodeBytes(w, h int) int64 {
	n := int64(w) * int64(h)
	if g.interlaced {
		n *= 2
	}
	return n
}

// scanGIF walks a GIF's blocks as image/gif reads them for image.Decode:
// header, colour tables, extensions, up to the end of the first frame (the
// one decoded; the rest are never read), keeping where that frame's data
// is for deepCheck.
func scanGIF(b []byte) (gifInfo, error) {
	var g gifInfo
	if len(b) < 13 || (string(b[:6]) != "GIF87a" && string(b[:6]) != "GIF89a") {
		return g, errGIF
	}
	sw, sh := int(binary.LittleEndian.Uint16(b[6:])), int(binary.LittleEndian.Uint16(b[8:]))
	i, palette := 13, 0
	if b[10]&0x80 != 0 {
		palette = 1 << (b[10]&7 + 1)
		i += 3 * palette
	}
	transparent := -1
	for {
		if i >= len(b) {
			return g, errGIF
		}
		switch b[i] {
		case 0x21: // extension: a label, then sub-blocks
			if i+2 > len(b) {
				return g, errGIF
			}
			if b[i+1] == 0xF9 && i+7 <= len(b) && b[i+2] >= 4 { // graphic control
				transparent = -1
				if b[i+3]&1 != 0 {
					transparent = int(b[i+6])
				}
			}
			end, ok := skipSubBlocks(b, i+2)
			if !ok {
				return g, errGIF
			}
			i = end
		case 0x2C: // image descriptor
			if i+10 > len(b) {
				return g, errGIF
			}
			d := b[i+1:]
			x, y := int(binary.LittleEndian.Uint16(d[0:])), int(binary.LittleEndian.Uint16(d[2:]))
			w, h := int(binary.LittleEndian.Uint16(d[4:])), int(binary.LittleEndian.Uint16(d[6:]))
			if x+w > sw || y+h > sh {
				return g, errGIF // image/gif: frame bounds larger than image bounds
			}
			g.interlaced = d[8]&0x40 != 0
			i += 10
			if d[8]&0x80 != 0 {
				palette = 1 << (d[8]&7 + 1)
				i += 3 * palette
			}
			if palette == 0 {
				return g, errGIF // no colour table
			}
			// image/gif makes room in the palette for an index past its end.
			palette = max(palette, transparent+1)
			if i >= len(b) {
				return g, errGIF
			}
			litWidth := int(b[i])
			if litWidth < 2 || litWidth > 8 {
				return g, errGIF
			}
			end, ok := skipSubBlocks(b, i+1)
			if !ok {
				return g, errGIF
			}
			g.frame, g.litWidth, g.pixels, g.palette = b[i+1:end], litWidth, int64(w)*int64(h), palette
			return g, nil
		default: // the trailer before any frame, or garbage
			return g, errGIF
		}
	}
}

// skipSubBlocks returns where the run of sub-blocks starting at i ends
// (after its empty terminator).
func skipSubBlocks(b []byte, i int) (int, bool) {
	for {
		if i >= len(b) {
			return 0, false
		}
		n := int(b[i])
		i++
		if n == 0 {
			return i, true
		}
		i += n
	}
}

// subBlocks reads the data of a run of sub-blocks.
type subBlocks struct {
	b    []byte
	left int // bytes of the current block not yet read
}

func (s *subBlocks) Read(p []byte) (int, error) {
	if s.left == 0 {
		if len(s.b) == 0 {
			return 0, io.ErrUnexpectedEOF
		}
		s.left, s.b = int(s.b[0]), s.b[1:]
		if s.left == 0 {
			return 0, io.EOF
		}
		if s.left > len(s.b) {
			return 0, io.ErrUnexpectedEOF
		}
	}
	k := copy(p, s.b[:s.left])
	s.b, s.left = s.b[k:], s.left-k
	return k, nil
}

// deepCheck decompresses the first frame's data without keeping it and
// checks, as the decoder does, that it holds exactly one byte per pixel of
// the frame, each an index into the frame's palette.
func (g gifInfo) deepCheck() error {
	if !lzwHolds(g.frame, g.litWidth, g.pixels, g.palette) {
		return errGIF
	}
	return nil
}

// lzwHolds reports whether the LZW data decompresses to at least want
// bytes, each under palette, and then to nothing more, as image/gif
// requires of a frame.
func lzwHolds(blocks []byte, litWidth int, want int64, palette int) bool {
	r := lzw.NewReader(&subBlocks{b: blocks}, lzw.LSB, litWidth)
	defer r.Close()
	var buf [4096]byte
	for idle := 0; want > 0; {
		n, err := r.Read(buf[:min(want, int64(len(buf)))])
		for _, p := range buf[:n] {
			if palette < 256 && int(p) >= palette {
				return false
			}
		}
		want -= int64(n)
		if err != nil && want > 0 {
			return false
		}
		if idle = idle + 1; n > 0 {
			idle = 0
		} else if idle == 100 {
			return false
		}
	}
	n, err := r.Read(buf[:1])
	return n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF)
}
