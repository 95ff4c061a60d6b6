package postgres

import "testing"

func TestRebind(t *testing.T) {
	var db DB
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE x = ? AND y = ?`:                               `SELECT a FROM t WHERE x = $1 AND y = $2`,
		`SELECT ?1, ?2 WHERE z = ?1`:                                          `SELECT $1, $2 WHERE z = $1`,
		`SELECT '?' || x FROM t WHERE s = 'it''s?' AND y = ?`:                 `SELECT '?' || x FROM t WHERE s = 'it''s?' AND y = $1`,
		`UPDATE t SET a = ? WHERE id IN (SELECT unnest(CAST(? AS BIGINT[])))`: `UPDATE t SET a = $1 WHERE id IN (SELECT unnest(CAST($2 AS BIGINT[])))`,
		`SELECT 1`: `SELECT 1`,
	} {
		if got := db.rebind(in); got != want {
			t.Errorf("rebind(%q)\n = %q\nwant %q", in, got, want)
		}
	}
}
