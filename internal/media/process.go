//go:build !vips

package media

// Process checks data and renders its variants. lim bounds the decoded
// size; see Inspect. The caller should hold hdr.Cost of the node's decode
// budget while it runs.
//
// This is the default build's, in Go alone (processGo): no cgo, no C
// library. A worker built with the vips tag renders large JPEGs' variants
// with libvips instead (process_vips.go).
func Process(data []byte, lim Limits) (Variants, error) {
	return processGo(data, lim)
}
