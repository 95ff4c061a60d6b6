// Package testenv finds the real servers and tools tests run against, and
// decides what a missing one means: a skip on a developer's machine, a
// failure in CI (PHOTOFEED_REQUIRE_SERVICES=1).
package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"os/exec"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"
)

// Required reports whether missing services must fail tests.
func Required() bool { return os.Getenv("PHOTOFEED_REQUIRE_SERVICES") == "1" }

// Missing skips t, or fails it when services are required.
func Missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (PHOTOFEED_REQUIRE_SERVICES=1) but not available", what)
	}
	t.Skipf("%s not available; skipping (set PHOTOFEED_REQUIRE_SERVICES=1 to fail instead)", what)
}

// Chromium returns the path of a Chromium or Chrome binary, or skips.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PHOTOFEED_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "Chromium (apt-get install chromium)")
	return ""
}

// PostgresURL returns the URL of a fresh, empty database on the PostgreSQL
// server at PHOTOFEED_TEST_POSTGRES (default the local one on
// 127.0.0.1:5432, trust auth), dropped when the test ends; or skips.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("PHOTOFEED_TEST_POSTGRES")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		err = db.PingContext(context.Background())
	}
	if err != nil {
		Missing(t, "PostgreSQL at "+admin+" ("+err.Error()+")")
		return ""
	}
	defer db.Close()
	name := freshDatabase(t, db, admin)
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// freshDatabase creates an empty database through db, dropped (through
// admin, by then db is closed) when the test ends, and returns its name.
func freshDatabase(t testing.TB, db *sql.DB, admin string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "photofeed_test_" + hex.EncodeToString(b[:])
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", admin); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	return name
}
