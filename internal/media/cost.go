package media

// Limits bound the images photofeed takes.
type Limits struct {
	// Pixels bounds width × height (--max-pixels).
	Pixels int64
	// Bytes bounds the memory an image takes to decode and make its
	// variants (Header.Cost): the whole decode budget of a node
	// (--decode-memory), since a larger image could never be processed.
	Bytes int64
}

// cost estimates the most memory Process holds at once for a w×h image
// that decodes into decodeBytes: the decoded image, the RGBA copy flatten
// makes of types JPEG cannot take directly, the scaling work for the
// large variant and the thumb, the large variant's upright RGBA copy, and
// the original and encoded variants (taken as at most a byte a pixel; a
// JPEG's stripped copy is its file's size, and JPEG at quality 88 of a
// photo is well under). It adds up things that are not all alive at the
// same moment, so it errs high.
func cost(w, h int, decodeBytes int64, copies bool) int64 {
	px := int64(w) * int64(h)
	n := decodeBytes
	if copies {
		n += 4 * px
	}
	lw, lh := fitSize(w, h, LargeSize)
	n += fitBytes(w, h, LargeSize) + fitBytes(lw, lh, ThumbSize) + 4*int64(lw)*int64(lh)
	return n + px
}
