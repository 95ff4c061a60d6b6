package media

import "encoding/binary"

// stripJPEG returns the JPEG b without its metadata, its image data byte
// for byte: no decode and no re-encode, so the original keeps its quality
// and costs a copy rather than most of an upload's CPU. What stays is
// what decoding needs: the tables, frame and scan headers, restart
// interval and entropy-coded data, the JFIF header (without its
// thumbnail), the ICC profile (colour, nothing about who or where) and
// Adobe's segment (which says how to read the colour components).
// Everything else goes: EXIF and XMP (APP1, where the GPS position and
// camera serials are), IPTC and Photoshop (APP13), comments, other
// APPn (maker data, embedded previews), bytes after EOI.
//
// Orientation o other than 1 is written back as an APP1 Exif segment of
// one tag (see exifOrientation), so viewers still turn the photo upright.
// b must have passed scanJPEG.
func stripJPEG(b []byte, o int) ([]byte, error) {
	out := make([]byte, 0, len(b))
	out = append(out, 0xFF, 0xD8)
	pending := o > 1 && o <= 8
	err := walkJPEG(b, func(s jpegSegment) bool {
		// JFIF asks for its APP0 first; Exif readers look for APP1 among
		// the segments that follow, so it goes right after.
		if pending && s.marker != 0xE0 {
			out = append(out, exifOrientation(o)...)
			pending = false
		}
		switch {
		case s.marker == 0xE0:
			if len(s.data) < 5 || string(s.data[:5]) != "JFIF\x00" {
				return true // JFXX and others: thumbnails
			}
			if len(s.data) > 14 { // a thumbnail follows the 14-byte header
				out = append(out, 0xFF, 0xE0, 0, 16)
				out = append(out, s.data[:12]...)
				out = append(out, 0, 0) // no thumbnail
				return true
			}
		case s.marker == 0xE2:
			if len(s.data) < 12 || string(s.data[:12]) != "ICC_PROFILE\x00" {
				return true
			}
		case s.marker == 0xEE:
			if len(s.data) < 5 || string(s.data[:5]) != "Adobe" {
				return true
			}
		case s.marker >= 0xE0 && s.marker <= 0xEF, s.marker == 0xFE:
			return true
		}
		out = append(out, b[s.start:s.end]...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// exifOrientation is an APP1 Exif segment that holds orientation o and
// nothing else: a big-endian TIFF header and an IFD0 of one SHORT entry,
// written here rather than copied from the upload, so no other tag (GPS,
// camera make and serial, dates, maker notes, thumbnail) can come along.
func exifOrientation(o int) []byte {
	seg := []byte{0xFF, 0xE1, 0, 0}
	seg = append(seg, "Exif\x00\x00"...)
	seg = append(seg, "MM\x00\x2a\x00\x00\x00\x08"...) // TIFF header: IFD0 at 8
	seg = append(seg, 0, 1)                            // one entry
	seg = binary.BigEndian.AppendUint16(seg, 0x0112)   // Orientation
	seg = binary.BigEndian.AppendUint16(seg, 3)        // SHORT
	seg = binary.BigEndian.AppendUint32(seg, 1)        // one value, held in the entry
	seg = binary.BigEndian.AppendUint16(seg, uint16(o))
	seg = append(seg, 0, 0, 0, 0, 0, 0) // value padding, no next IFD
	binary.BigEndian.PutUint16(seg[2:], uint16(len(seg)-2))
	return seg
}
