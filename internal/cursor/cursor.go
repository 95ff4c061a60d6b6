// Package cursor makes opaque, signed pagination cursors.
package cursor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"

	"github.com/photofeed/photofeed/internal/errkind"
)

// ErrBad is returned for a cursor that was not issued by us.
var ErrBad = &errkind.Error{Kind: errkind.Malformed, Message: "the cursor is malformed or was altered",
	Fields: map[string]string{"cursor": "is not a cursor this server issued"}}

const (
	cursorVersion = 1
	payloadLen    = 1 + 8 // version, last id
	macLen        = 16
)

// Codec makes opaque, tamper-evident cursors: clients can hold and
// return them but not forge or edit them, so what a cursor encodes can
// change without breaking anyone.
type Codec struct {
	key []byte
}

func New(key []byte) *Codec {
	return &Codec{key: key}
}

// Encode returns the cursor for "posts older than lastID".
func (c *Codec) Encode(lastID int64) string {
	var buf [payloadLen + macLen]byte
	buf[0] = cursorVersion
	binary.BigEndian.PutUint64(buf[1:], uint64(lastID))
	copy(buf[payloadLen:], c.mac(buf[:payloadLen]))
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

// Decode returns the id a cursor encodes, or ErrBad.
func (c *Codec) Decode(s string) (int64, error) {
	if base64.RawURLEncoding.DecodedLen(len(s)) != payloadLen+macLen {
		return 0, ErrBad
	}
	buf, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(buf) != payloadLen+macLen || buf[0] != cursorVersion {
		return 0, ErrBad
	}
	if !hmac.Equal(buf[payloadLen:], c.mac(buf[:payloadLen])) {
		return 0, ErrBad
	}
	id := int64(binary.BigEndian.Uint64(buf[1:]))
	if id <= 0 {
		return 0, ErrBad
	}
	return id, nil
}

func (c *Codec) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("photofeed cursor\x00"))
	m.Write(payload)
	return m.Sum(nil)[:macLen]
}
