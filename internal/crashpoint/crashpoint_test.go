package crashpoint_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/photofeed/photofeed/internal/crashpoint"
)

// TestMain runs the passes of TestNthPassKills in a child when asked:
// a kill must end a process, so it cannot be this one.
func TestMain(m *testing.M) {
	if os.Getenv("CRASHPOINT_CHILD") == "1" {
		crashpoint.Hit(crashpoint.UploadBody) // not armed yet: nothing
		crashpoint.Arm(crashpoint.UploadBody, 3)
		crashpoint.Hit(crashpoint.UploadRead) // another point: nothing
		for i := 1; i <= 5; i++ {
			os.Stdout.WriteString("pass\n")
			crashpoint.Hit(crashpoint.UploadBody)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestNthPassKills(t *testing.T) {
	if crashpoint.Armed(crashpoint.UploadBody) {
		t.Fatal("a point is armed in a process that armed none")
	}
	crashpoint.Hit(crashpoint.UploadBody) // unarmed: returns

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CRASHPOINT_CHILD=1")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("the child was not killed: %v, output %q", err, out)
	}
	ws := exit.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended with %v, want SIGKILL", exit)
	}
	if n := strings.Count(string(out), "pass\n"); n != 3 {
		t.Fatalf("the child passed the point %d times before it died, want 3 (killed at the third)", n)
	}
	if !strings.Contains(string(exit.Stderr), "SIGKILL at upload.body") {
		t.Fatalf("the child did not say where it died: %q", exit.Stderr)
	}
}
