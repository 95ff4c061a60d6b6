package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
)

var randRead = rand.Read

// subkey derives a purpose-bound key from the secret, so a token key can
// never verify a cursor and the other way round.
func subkey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
