package idempotency

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// spool keeps a request body for the handler once the fingerprint has
// read it: in memory up to limit bytes, beyond that in a temporary file
// (0600, removed when the request ends), so a large upload costs disk, not
// memory.
type spool struct {
	dir   string
	limit int
	mem   bytes.Buffer
	file  *os.File
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) <= s.limit {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "photofeed-body-*") // CreateTemp makes it 0600
		if err != nil {
			return 0, fmt.Errorf("spool request body: %w", err)
		}
		s.file = f
		if _, err := f.Write(s.mem.Bytes()); err != nil {
			return 0, fmt.Errorf("spool request body: %w", err)
		}
		s.mem = bytes.Buffer{}
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
		return io.NopCloser(bytes.NewReader(s.mem.Bytes())), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind spooled body: %w", err)
	}
	return io.NopCloser(s.file), nil
}

// remove deletes the temporary file, if there is one.
func (s *spool) remove() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
