//go:build unix

package cluster

import (
	"os"
	"syscall"
)

var termSignal os.Signal = syscall.SIGTERM

// killGroup kills the process group p leads (each child leads its own):
// whatever it started goes with it.
func killGroup(p *os.Process) {
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil {
		p.Kill()
	}
}
