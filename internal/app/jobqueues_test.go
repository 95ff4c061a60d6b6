package app

import (
	"database/sql"
	"log/slog"
	"strings"
	"testing"
)

// With several databases, a job queue that cannot start says on which.
func TestJobQueueErrorNamesTheDatabase(t *testing.T) {
	closed, err := sql.Open("pgx", "postgres://127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	n := &node{log: slog.New(slog.DiscardHandler)}
	ad := &adapters{db: &database{dialect: "postgres", parts: []dbPart{{name: "pg2", writer: closed}}}}
	err = n.newJobQueues(t.Context(), Config{}, ad, &services{}, nil)
	if err == nil || !strings.Contains(err.Error(), `job queue for database "pg2"`) {
		t.Fatalf("newJobQueues: %v, want the database named", err)
	}
}
