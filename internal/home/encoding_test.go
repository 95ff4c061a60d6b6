package home_test

import "testing"

// The parts are asked for without the client's Accept-Encoding: the
// handler reads them into its answer, so a compressed part would be
// embedded as garbage.
func TestHomeAsksPartsUncompressed(t *testing.T) {
	asked := partHeaders(t, "Accept-Encoding", map[string]string{"Accept-Encoding": "gzip, zstd"})
	if len(asked) != 3 {
		t.Fatalf("parts asked: %v", asked)
	}
	for path, ae := range asked {
		if ae != "" {
			t.Errorf("%s asked with Accept-Encoding %q", path, ae)
		}
	}
}
