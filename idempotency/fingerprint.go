package idempotency

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
)

// A retry must be recognised by what it asks for, not by its bytes: clients
// build a new multipart boundary on every send and may re-serialise JSON in
// another key order. So the fingerprint is over the body's meaning:
//
//   - multipart/form-data: for each part, in order, its form name, file name,
//     content type (parsed, so its spelling does not count) and the SHA-256
//     of its content; the boundary, preamble and header spelling do not count.
//   - JSON (application/json, */*+json): the parsed value, with object
//     members sorted by key (the last of duplicate keys wins, as in
//     encoding/json), strings compared after unescaping and numbers kept as
//     written (1 and 1.0 differ). Up to MaxCanonicalJSON bytes and
//     maxJSONDepth levels; past either, and for invalid JSON, the bytes.
//   - anything else: the media type and the bytes.

// MaxCanonicalJSON is the largest JSON body fingerprinted by its parsed
// value; a larger one is fingerprinted by its bytes, so that parsing it
// never holds more than this in memory.
const MaxCanonicalJSON = 1 << 20

// maxJSONDepth bounds the nesting the canonical form follows, and with it
// the recursion a hostile body can cause.
const maxJSONDepth = 64

// Fingerprint reads body to its end and returns a SHA-256 digest of its
// meaning for contentType (the request's Content-Type). It fails only if
// reading fails.
func Fingerprint(contentType string, body io.Reader) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = ""
	}
	t := &tap{r: body, raw: sha256.New()}
	var digest []byte
	var ok bool
	switch {
	case mt == "multipart/form-data" && params["boundary"] != "":
		digest, ok = multipartDigest(t, params["boundary"])
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		digest, ok = jsonDigest(&capped{r: t, left: MaxCanonicalJSON})
	}
	// Whatever a parser left unread (an epilogue, trailing bytes, the rest
	// of a body it gave up on) still belongs to the raw digest.
	if _, err := io.Copy(io.Discard, t); err != nil && t.err == nil {
		t.err = err
	}
	if t.err != nil {
		return nil, t.err
	}
	if !ok {
		h := sha256.New()
		field(h, "bytes")
		field(h, mt)
		h.Write(t.raw.Sum(nil))
		digest = h.Sum(nil)
	}
	return digest, nil
}

// tap hashes every byte read through it and keeps the first read error, so
// a parser's failure can be told from the body's.
type tap struct {
	r   io.Reader
	raw hash.Hash
	err error
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.raw.Write(p[:n])
	if err != nil && err != io.EOF && t.err == nil {
		t.err = err
	}
	return n, err
}

var errTooBig = errors.New("idempotency: body too large for a canonical form")

// capped ends a parser's input after left bytes.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errTooBig
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// field writes s length-prefixed, so that no two sequences of fields hash
// alike.
func field(h hash.Hash, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	io.WriteString(h, s)
}

func multipartDigest(r io.Reader, boundary string) ([]byte, bool) {
	mr := multipart.NewReader(r, boundary)
	h := sha256.New()
	field(h, "multipart/form-data")
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return h.Sum(nil), true
		}
		if err != nil {
			return nil, false
		}
		field(h, p.FormName())
		field(h, p.FileName())
		field(h, canonicalType(p.Header.Get("Content-Type")))
		content := sha256.New()
		if _, err := io.Copy(content, p); err != nil {
			return nil, false
		}
		h.Write(content.Sum(nil))
	}
}

// canonicalType spells a media type one way: lower case, parameters sorted
// and quoted only where needed.
func canonicalType(v string) string {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(v))
	}
	if s := mime.FormatMediaType(mt, params); s != "" {
		return s
	}
	return mt
}

func jsonDigest(r io.Reader) ([]byte, bool) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	d, err := jsonValue(dec, 0)
	if err != nil {
		return nil, false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // trailing data: not one JSON value
	}
	return d, true
}

var errTooDeep = errors.New("idempotency: JSON nested too deeply for a canonical form")

// jsonValue returns the digest of the next value: a tree of SHA-256s, so an
// object's members can be put in key order holding only their digests.
func jsonValue(dec *json.Decoder, depth int) ([]byte, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	switch v := tok.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, errTooDeep
		}
		switch v {
		case '[':
			field(h, "array")
			for dec.More() {
				d, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				h.Write(d)
			}
		case '{':
			type member struct{ key, value []byte }
			var members []member
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				ks := sha256.Sum256([]byte(k))
				d, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				members = append(members, member{ks[:], d})
			}
			slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
			field(h, "object")
			for i, m := range members {
				if i+1 < len(members) && bytes.Equal(m.key, members[i+1].key) {
					continue // a later duplicate overrides this one
				}
				h.Write(m.key)
				h.Write(m.value)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		field(h, "string")
		field(h, v)
	case json.Number:
		field(h, "number")
		field(h, string(v))
	case bool:
		field(h, "bool")
		if v {
			field(h, "true")
		} else {
			field(h, "false")
		}
	case nil:
		field(h, "null")
	}
	return h.Sum(nil), nil
}
