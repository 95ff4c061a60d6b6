package cluster

import "syscall"

// childAttr puts a child in its own process group and has the kernel
// send it SIGTERM should this process die without stopping it.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
