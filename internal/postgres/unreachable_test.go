package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Only a server that cannot be reached sends a read to a replica or a
// write's caller to "primary down": a slow one, or a caller that gave up,
// is neither (a context error satisfies net.Error).
func TestUnreachable(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), false},
		{"cancelled", fmt.Errorf("query: %w", context.Canceled), false},
		{"query error", errors.New(`ERROR: relation "x" does not exist`), false},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connect failed", &pgconn.ConnectError{}, true},
		{"server gone mid-query", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"bad connection", driver.ErrBadConn, true},
	} {
		if got := unreachable(tt.err); got != tt.want {
			t.Errorf("%s: unreachable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}
