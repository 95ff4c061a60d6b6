package idempotency

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// spoolChunk is the unit the memory part of a spool grows by: memory is
// taken as the body arrives, never more than the body plus one chunk, and
// never copied to grow.
const spoolChunk = 64 << 10

// spool keeps a request body for the handler once the fingerprint has
// read it: in memory up to limit bytes, beyond that in a temporary file
// (0600, removed when the request ends), so a large upload costs disk, not
// memory.
type spool struct {
	dir    string
	limit  int
	chunks [][]byte
	size   int
	file   *os.File
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.size+len(p) <= s.limit {
		for rest := p; len(rest) > 0; {
			if len(s.chunks) == 0 || len(s.chunks[len(s.chunks)-1]) == spoolChunk {
				s.chunks = append(s.chunks, make([]byte, 0, spoolChunk))
			}
			last := &s.chunks[len(s.chunks)-1]
			n := min(len(rest), spoolChunk-len(*last))
			*last = append(*last, rest[:n]...)
			rest = rest[n:]
		}
		s.size += len(p)
		return len(p), nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "photofeed-body-*") // CreateTemp makes it 0600
		if err != nil {
			return 0, fmt.Errorf("spool request body: %w", err)
		}
		s.file = f
		for _, c := range s.chunks {
			if _, err := f.Write(c); err != nil {
				return 0, fmt.Errorf("spool request body: %w", err)
			}
		}
		s.chunks = nil
	}
	n, err := s.file.Write(p)
	if err != nil {
		err = fmt.Errorf("spool request body: %w", err)
	}
	return n, err
}

// body returns the spooled bytes, from the start.
func (s *spool) body() (io.ReadCloser, error) {
	if s.file == nil {
		parts := make([]io.Reader, len(s.chunks))
		for i, c := range s.chunks {
			parts[i] = bytes.NewReader(c)
		}
		return &heldBody{Reader: io.MultiReader(parts...), size: int64(s.size)}, nil
	}
	size, err := s.file.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, fmt.Errorf("measure spooled body: %w", err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind spooled body: %w", err)
	}
	return &heldBody{Reader: s.file, size: size}, nil
}

// heldBody is a body the middleware has in hand. Its Size lets a handler
// that keeps a part of it whole allocate that once instead of growing it,
// which it could not safely do from a length a client only claims.
type heldBody struct {
	io.Reader
	size int64
}

// Size is the body's whole length in bytes.
func (b *heldBody) Size() int64 { return b.size }

func (b *heldBody) Close() error { return nil }

// remove deletes the temporary file, if there is one.
func (s *spool) remove() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
