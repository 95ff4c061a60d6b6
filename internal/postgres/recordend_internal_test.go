package postgres

import (
	"testing"

	"github.com/photofeed/photofeed/internal/consistency"
)

func TestRecordEnd(t *testing.T) {
	const block, segment = 8192, 16 << 20
	for _, tt := range []struct {
		name    string
		in, out consistency.LSN
	}{
		{"inside a page", 0x3498FB8, 0x3498FB8},
		{"past a page's header", 0x349A000 + 24, 0x349A000},
		{"past a segment's first page header", 0x4000000 + 40, 0x4000000},
		{"a page boundary", 0x349A000, 0x349A000},
	} {
		if got := recordEnd(tt.in, block, segment); got != tt.out {
			t.Errorf("%s: recordEnd(%s) = %s, want %s", tt.name, tt.in, got, tt.out)
		}
	}
}
