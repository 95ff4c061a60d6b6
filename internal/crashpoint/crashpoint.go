// Package crashpoint names the moments of the upload and processing path
// where a crash leaves something behind, so that a test can end the
// process with SIGKILL at one of them, the Nth time it is passed, instead
// of hoping a timed kill lands there. Nothing arms a point but a test
// (the crash test's child node, through Arm); unarmed, a Hit is one
// atomic load.
package crashpoint

import (
	"os"
	"sync/atomic"
)

// The named points, in the order an upload passes them.
const (
	UploadBody      = "upload.body"      // the keyed upload's body has begun to arrive
	UploadRead      = "upload.read"      // the body is read; nothing is stored
	UploadStored    = "upload.stored"    // the upload's blob is stored, its post not
	UploadCommitted = "upload.committed" // the post and its key's claim are committed; no answer yet
	UploadAnswered  = "upload.answered"  // the 201 is sent and flushed
	BlobLinking     = "blob.linking"     // a blob's temporary file is written and synced, not yet under its key
	VariantsMade    = "variants.made"    // the job decoded the upload; nothing stored
	VariantStored   = "variant.stored"   // one more of the post's variants is stored
	JobFinished     = "job.finished"     // the post is ready (committed); its upload blob not yet removed
	JobWorked       = "job.worked"       // the job's work returned; River has not recorded it
	OrphansFound    = "orphans.found"    // the orphan sweep listed its orphans; none deleted
	OrphanDeleted   = "orphan.deleted"   // the sweep deleted one more orphan blob
	TempRemoved     = "temp.removed"     // the sweep removed one more unfinished write
)

type target struct {
	name string
	left atomic.Int64
}

var armed atomic.Pointer[target]

// Arm makes the nth Hit of name (counted from now) kill the process.
func Arm(name string, n int) {
	t := &target{name: name}
	t.left.Store(int64(n))
	armed.Store(t)
}

// Armed reports whether name is the armed point, for a caller that must
// prepare before its Hit (flush a response).
func Armed(name string) bool {
	t := armed.Load()
	return t != nil && t.name == name
}

// Hit passes the point name: if it is armed and this is its nth pass,
// the process ends here with SIGKILL, as a crash or the OOM killer would
// end it, with no deferred function, flush or cleanup run.
func Hit(name string) {
	t := armed.Load()
	if t == nil || t.name != name || t.left.Add(-1) != 0 {
		return
	}
	os.Stderr.WriteString("crashpoint: SIGKILL at " + name + "\n")
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	select {} // the signal is on its way
}
