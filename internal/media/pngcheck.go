package media

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
)

// pngInfo is what a PNG's chunks say about decoding it.
type pngInfo struct {
	width, height int
	depth, color  byte // IHDR bit depth and colour type
	interlaced    bool
	transparent   bool     // a tRNS chunk on a grey or truecolour image
	idat          [][]byte // the image data: the first run of IDAT chunks
}

// decodeBytes is what image/png allocates for the image: the type it
// decodes to (Gray, Gray16, Paletted, RGBA, NRGBA, RGBA64, NRGBA64), and for
// an interlaced file as much again for its seven passes.
func (p pngInfo) decodeBytes() int64 {
	px := int64(p.width) * int64(p.height)
	per := int64(4)
	switch {
	case p.color == 3: // paletted
		per = 1
	case p.color == 0 && !p.transparent: // grey
		per = 1
		if p.depth == 16 {
			per = 2
		}
	case p.depth == 16:
		per = 8
	}
	n := px * per
	rows := 2 * int64(p.rowBytes(p.width)+1) // current and previous row
	// Each Adam7 pass is an image of its own, merged into the whole.
	if p.interlaced {
		n, rows = 2*n, 7*rows
	}
	return n + rows
}

// copies reports whether the variants need an RGBA copy of the decoded
// image (see flatten): every decoded type but RGBA and Gray.
func (p pngInfo) copies() bool {
	return !(p.color == 2 && p.depth == 8 && !p.transparent) && !(p.color == 0 && p.depth <= 8 && !p.transparent)
}

func (p pngInfo) bitsPerPixel() int {
	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[p.color]
	return channels * int(p.depth)
}

func (p pngInfo) rowBytes(width int) int {
	return (width*p.bitsPerPixel() + 7) / 8
}

var errPNG = errors.New("png")

// scanPNG walks a PNG's chunks as image/png reads them: each length in
// bounds and each CRC right, the chunks in the order and of the lengths
// image/png requires (IHDR first and valid, PLTE and tRNS before the image
// data, IEND after it). It keeps where the image data is (the first run of
// IDAT chunks: image/png ignores any later ones) for deepCheck.
func scanPNG(b []byte) (pngInfo, error) {
	var p pngInfo
	if len(b) < 8 || string(b[:8]) != "\x89PNG\r\n\x1a\n" {
		return p, errPNG
	}
	const (
		start = iota
		seenIHDR
		seenPLTE
		seentRNS
		seenIDAT
	)
	stage, palette := start, 0
	runOver := false // a chunk other than IDAT came after the first IDAT
	for i := 8; ; {
		if i+12 > len(b) {
			return p, errPNG // truncated: no IEND
		}
		n := int64(binary.BigEndian.Uint32(b[i:]))
		if n > 0x7fffffff || int64(i)+12+n > int64(len(b)) {
			return p, errPNG
		}
		typ, data := string(b[i+4:i+8]), b[i+8:i+8+int(n)]
		if crc32.ChecksumIEEE(b[i+4:i+8+int(n)]) != binary.BigEndian.Uint32(b[i+8+int(n):]) {
			return p, errPNG
		}
		i += 12 + int(n)
		if stage == start && typ != "IHDR" {
			return p, errPNG
		}
		if stage == seenIDAT && typ != "IDAT" {
			runOver = true
		}
		switch typ {
		case "IHDR":
			if stage != start || !p.parseIHDR(data) {
				return p, errPNG
			}
			stage = seenIHDR
		case "PLTE":
			np := len(data) / 3
			if stage != seenIHDR || len(data)%3 != 0 || np <= 0 || np > 256 || np > 1<<p.depth || p.color == 0 || p.color == 4 {
				return p, errPNG
			}
			stage, palette = seenPLTE, np
		case "tRNS":
			switch {
			case p.color == 3 && stage == seenPLTE && len(data) <= 256:
			case p.color == 2 && (stage == seenIHDR || stage == seenPLTE) && len(data) == 6:
				p.transparent = true
			case p.color == 0 && stage == seenIHDR && len(data) == 2:
				p.transparent = true
			default:
				return p, errPNG
			}
			stage = seentRNS
		case "IDAT":
			if stage == start || (p.color == 3 && palette == 0) {
				return p, errPNG
			}
			stage = seenIDAT
			if !runOver {
				p.idat = append(p.idat, data)
			}
		case "IEND":
			if stage != seenIDAT {
				return p, errPNG
			}
			return p, nil
		}
	}
}

func (p *pngInfo) parseIHDR(d []byte) bool {
	if len(d) != 13 {
		return false
	}
	w, h := binary.BigEndian.Uint32(d[0:]), binary.BigEndian.Uint32(d[4:])
	if w == 0 || h == 0 || w > 0x7fffffff || h > 0x7fffffff || d[10] != 0 || d[11] != 0 || d[12] > 1 {
		return false
	}
	p.width, p.height, p.depth, p.color, p.interlaced = int(w), int(h), d[8], d[9], d[12] == 1
	ok := map[byte][]byte{0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}[p.color]
	return bytes.IndexByte(ok, p.depth) >= 0
}

// adam7 are the interlace passes: offset and step in x and y.
var adam7 = [7][4]int{{0, 8, 0, 8}, {4, 8, 0, 8}, {0, 4, 4, 8}, {2, 4, 0, 4}, {0, 2, 2, 4}, {1, 2, 0, 2}, {0, 1, 1, 2}}

// deepCheck inflates the image data scanPNG found without keeping it,
// checking every row's filter byte, that the data is as long as the
// header says and that its checksum holds: what a full decode would find
// wrong with the file, in 32 KiB of memory.
func (p pngInfo) deepCheck() error {
	parts := make([]io.Reader, len(p.idat))
	for i, d := range p.idat {
		parts[i] = bytes.NewReader(d)
	}
	zr, err := zlib.NewReader(io.MultiReader(parts...))
	if err != nil {
		return err
	}
	defer zr.Close()
	var buf [32 << 10]byte
	row := func(width int) error {
		if _, err := io.ReadFull(zr, buf[:1]); err != nil {
			return err
		}
		if buf[0] > 4 { // filter types 0–4
			return errPNG
		}
		for left := p.rowBytes(width); left > 0; {
			n, err := io.ReadFull(zr, buf[:min(left, len(buf))])
			if err != nil {
				return err
			}
			left -= n
		}
		return nil
	}
	passes := [][4]int{{0, 1, 0, 1}}
	if p.interlaced {
		passes = adam7[:]
	}
	for _, ps := range passes {
		w := (p.width - ps[0] + ps[1] - 1) / ps[1]
		h := (p.height - ps[2] + ps[3] - 1) / ps[3]
		if w <= 0 || h <= 0 {
			continue
		}
		for range h {
			if err := row(w); err != nil {
				return err
			}
		}
	}
	// The end of the stream verifies its checksum; more of it is an error
	// to image/png too. (Bytes after the stream's end are not: image/png
	// may have read them ahead, unseen.)
	for range 100 {
		n, err := zr.Read(buf[:1])
		if n != 0 || (err != nil && err != io.EOF) {
			return errPNG
		}
		if err == io.EOF {
			return nil
		}
	}
	return io.ErrNoProgress
}
