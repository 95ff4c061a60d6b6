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
	"strconv"
	"strings"
	"unicode"
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
//     written (1 and 1.0 differ). Up to MaxCanonicalJSON bytes,
//     maxJSONDepth levels and maxHeldMembers object members open at once;
//     past any, for invalid JSON, and for an object with two keys equal
//     under strings.EqualFold but spelled apart, the bytes.
//   - anything else: the media type and the bytes.

// MaxCanonicalJSON is the largest JSON body fingerprinted by its parsed
// value; a larger one is fingerprinted by its bytes. It bounds what the
// parse costs: the decoder holds a token whole, and a body of many small
// values takes CPU for each.
const MaxCanonicalJSON = 256 << 10

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
	c := canonicalJSON{dec: json.NewDecoder(r)}
	c.dec.UseNumber()
	h := sha256.New()
	field(h, "json")
	if err := c.value(h, 0); err != nil {
		return nil, false
	}
	if _, err := c.dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false // trailing data: not one JSON value
	}
	return h.Sum(nil), true
}

var errTooComplex = errors.New("idempotency: JSON too deep or too wide for a canonical form")

// errCaseVariants marks an object with keys that differ only in case (as
// strings.EqualFold has it): encoding/json fills a struct field from any
// of them, the last one winning, so their order is part of the meaning.
var errCaseVariants = errors.New("idempotency: JSON keys equal but for case")

// maxHeldMembers bounds the object members whose digests wait to be
// sorted (96 bytes each), so wide objects hold at most 384 KiB of them.
const maxHeldMembers = 4 << 10

// canonicalJSON writes a JSON value into a hash in canonical form: scalars
// tagged and length-prefixed, arrays in order, objects as their members
// sorted by key, each member reduced to the digest of its key and value,
// so only those digests are held, never the values.
type canonicalJSON struct {
	dec  *json.Decoder
	held int
}

type member struct{ fold, key, value [sha256.Size]byte }

func (c *canonicalJSON) value(h hash.Hash, depth int) error {
	tok, err := c.dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			return errTooComplex
		}
		switch v {
		case '[':
			field(h, "[")
			for c.dec.More() {
				if err := c.value(h, depth+1); err != nil {
					return err
				}
			}
			field(h, "]")
		case '{':
			if err := c.object(h, depth); err != nil {
				return err
			}
		}
		if _, err := c.dec.Token(); err != nil { // the closing delimiter
			return err
		}
	case string:
		field(h, "string")
		field(h, v)
	case json.Number:
		field(h, "number")
		field(h, string(v))
	case bool:
		field(h, "bool")
		field(h, strconv.FormatBool(v))
	case nil:
		field(h, "null")
	}
	return nil
}

func (c *canonicalJSON) object(h hash.Hash, depth int) error {
	var members []member
	defer func() { c.held -= len(members) }()
	mh := sha256.New()
	for c.dec.More() {
		kt, err := c.dec.Token()
		if err != nil {
			return err
		}
		k, _ := kt.(string)
		if c.held++; c.held > maxHeldMembers {
			return errTooComplex
		}
		mh.Reset()
		if err := c.value(mh, depth+1); err != nil {
			return err
		}
		m := member{fold: sha256.Sum256([]byte(foldKey(k))), key: sha256.Sum256([]byte(k))}
		mh.Sum(m.value[:0])
		members = append(members, m)
	}
	slices.SortStableFunc(members, func(a, b member) int {
		if c := bytes.Compare(a.fold[:], b.fold[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.key[:], b.key[:])
	})
	for i := 1; i < len(members); i++ {
		if members[i].fold == members[i-1].fold && members[i].key != members[i-1].key {
			return errCaseVariants
		}
	}
	// Stable, so duplicates keep the order they came in.
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.key[:], b.key[:]) })
	field(h, "{")
	for i, m := range members {
		if i+1 < len(members) && members[i+1].key == m.key {
			continue // a later duplicate overrides this one, as in encoding/json
		}
		h.Write(m.key[:])
		h.Write(m.value[:])
	}
	field(h, "}")
	return nil
}

// foldKey spells k with each rune replaced by the smallest of its Unicode
// simple case folding orbit, so two keys equal under strings.EqualFold
// have one foldKey.
func foldKey(k string) string {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range k {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}
