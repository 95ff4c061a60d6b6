package media

import (
	"compress/lzw"
	"encoding/binary"
	"errors"
	"io"
)

var errGIF = errors.New("gif")

// scanGIF walks a GIF's blocks as image/gif reads them for image.Decode:
// header, colour tables, extensions, up to the end of the first frame (the
// one decoded; the rest are never read). With deep, it also decompresses
// that frame's data without keeping it and checks that it holds exactly
// one byte per pixel of the frame, as the decoder requires.
func scanGIF(b []byte, deep bool) error {
	if len(b) < 13 || (string(b[:6]) != "GIF87a" && string(b[:6]) != "GIF89a") {
		return errGIF
	}
	sw, sh := int(binary.LittleEndian.Uint16(b[6:])), int(binary.LittleEndian.Uint16(b[8:]))
	i := 13
	if b[10]&0x80 != 0 {
		i += 3 << (b[10]&7 + 1)
	}
	for {
		if i >= len(b) {
			return errGIF
		}
		switch b[i] {
		case 0x21: // extension: a label, then sub-blocks
			if i+2 > len(b) {
				return errGIF
			}
			end, ok := skipSubBlocks(b, i+2)
			if !ok {
				return errGIF
			}
			i = end
		case 0x2C: // image descriptor
			if i+10 > len(b) {
				return errGIF
			}
			d := b[i+1:]
			x, y := int(binary.LittleEndian.Uint16(d[0:])), int(binary.LittleEndian.Uint16(d[2:]))
			w, h := int(binary.LittleEndian.Uint16(d[4:])), int(binary.LittleEndian.Uint16(d[6:]))
			if x+w > sw || y+h > sh {
				return errGIF // image/gif: frame bounds larger than image bounds
			}
			i += 10
			if d[8]&0x80 != 0 {
				i += 3 << (d[8]&7 + 1)
			}
			if i >= len(b) {
				return errGIF
			}
			litWidth := int(b[i])
			if litWidth < 2 || litWidth > 8 {
				return errGIF
			}
			end, ok := skipSubBlocks(b, i+1)
			if !ok {
				return errGIF
			}
			if deep && !lzwHolds(b[i+1:end], litWidth, int64(w)*int64(h)) {
				return errGIF
			}
			return nil
		default: // the trailer before any frame, or garbage
			return errGIF
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

// lzwHolds reports whether the LZW data decompresses to at least want
// bytes and then to nothing more, as image/gif requires of a frame.
func lzwHolds(blocks []byte, litWidth int, want int64) bool {
	r := lzw.NewReader(&subBlocks{b: blocks}, lzw.LSB, litWidth)
	defer r.Close()
	if n, err := io.CopyN(io.Discard, r, want); n != want || err != nil {
		return false
	}
	var one [1]byte
	n, err := r.Read(one[:])
	return n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF)
}
