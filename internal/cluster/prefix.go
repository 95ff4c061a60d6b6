package cluster

import (
	"bytes"
	"io"
	"sync"
)

// PrefixWriter writes whole lines to an io.Writer shared with other
// PrefixWriters, each line led by its prefix, so the output of several
// processes interleaves by line rather than by byte.
type PrefixWriter struct {
	mu     *sync.Mutex // shared by the writers of one destination
	w      io.Writer
	prefix []byte
	part   []byte // a line not finished yet
}

// NewPrefixWriter returns a writer to w; writers sharing w share mu.
func NewPrefixWriter(w io.Writer, mu *sync.Mutex, prefix string) *PrefixWriter {
	return &PrefixWriter{mu: mu, w: w, prefix: []byte(prefix)}
}

func (p *PrefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	var out []byte
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.part = append(p.part, b...)
			break
		}
		out = append(append(append(out, p.prefix...), p.part...), b[:i+1]...)
		p.part, b = p.part[:0], b[i+1:]
	}
	if len(out) == 0 {
		return n, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return n, nil
}
