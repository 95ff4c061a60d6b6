//go:build !unix

package cluster

import (
	"os"
	"syscall"
)

var termSignal os.Signal = os.Kill // no SIGTERM to send: the stop is abrupt

func childAttr() *syscall.SysProcAttr { return nil }

func killGroup(p *os.Process) { p.Kill() }
