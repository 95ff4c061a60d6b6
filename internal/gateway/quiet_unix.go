//go:build unix

package gateway

import (
	"errors"
	"net"
	"syscall"
)

// quiet reports whether nothing waits to be read on the idle connection
// nc: no stray bytes past its last answer and no close from the upstream.
// One non-blocking peek; the bytes, if any, stay unread.
func quiet(nc net.Conn) bool {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var b [1]byte
	var n int
	var peekErr error
	err = raw.Read(func(fd uintptr) bool {
		n, _, peekErr = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true // never wait for readiness
	})
	return err == nil && n < 0 && errors.Is(peekErr, syscall.EAGAIN)
}
