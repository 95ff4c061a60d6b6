package app

import (
	"strings"
	"testing"
)

func TestParseShardsFile(t *testing.T) {
	ok := "# databases\npg1 postgres://a@h1/p postgres://a@r1/p  # with a replica\n\npg2 postgresql://a@h2/p\n"
	dbs, err := parseShardsFile(strings.NewReader(ok))
	if err != nil {
		t.Fatal(err)
	}
	if len(dbs) != 2 || dbs[0].Name != "pg1" || dbs[0].URL != "postgres://a@h1/p" || len(dbs[0].Replicas) != 1 ||
		dbs[1].Name != "pg2" || len(dbs[1].Replicas) != 0 {
		t.Fatalf("parsed %+v", dbs)
	}
	for _, tc := range []struct{ file, want string }{
		{"", "no databases"},
		{"# only a comment\n", "no databases"},
		{"pg1\n", "line 1: want"},
		{"pg1 postgres://h/p\nPG2 postgres://h/q\n", "line 2: database name"},
		{"pg1 postgres://h/p\npg1 postgres://h/q\n", `line 2: database "pg1" listed twice`},
		{"pg1 mysql://h/p\n", "not a postgres:// URL"},
		{"pg1 postgres://h/p http://replica\n", "not a postgres:// URL"},
	} {
		_, err := parseShardsFile(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.file, err, tc.want)
		}
	}
}

// Whatever the file holds, parsing answers with databases or an error,
// and what it accepts is well formed.
func FuzzParseShardsFile(f *testing.F) {
	f.Add("pg1 postgres://a@h1/p postgres://a@r1/p\npg2 postgres://a@h2/p\n")
	f.Add("# x\n\n a  postgres://x  \n")
	f.Add("pg1\x00 postgres://")
	f.Fuzz(func(t *testing.T, file string) {
		dbs, err := parseShardsFile(strings.NewReader(file))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, d := range dbs {
			if !databaseName.MatchString(d.Name) || seen[d.Name] || !strings.HasPrefix(d.URL, "postgres") {
				t.Fatalf("accepted %+v from %q", d, file)
			}
			seen[d.Name] = true
		}
	})
}
