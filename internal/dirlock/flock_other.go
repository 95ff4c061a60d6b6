//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dirlock

import "os"

// Without flock a process never knows it is alone: it assumes peers, and
// what a dead run left in flight waits for its timeouts.
func tryExclusive(*os.File) (bool, error) { return false, nil }

func shared(*os.File) error { return nil }
