// Command barejson is the baseline for the feed benchmark: a bare net/http
// handler that marshals a feed-sized JSON document on every request, with
// no auth, no database and no middleware. See bench/feed.sh.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	sample := flag.String("sample", "", "JSON file whose document every response marshals")
	flag.Parse()
	raw, err := os.ReadFile(*sample)
	if err != nil {
		log.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		log.Fatal(err)
	}
	http.HandleFunc("GET /v1/feed", func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(doc)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
