// Command barejson is the baseline for the feed benchmark: a bare net/http
// handler that marshals a feed-sized JSON document on every request, with
// no auth, no database and no middleware. See bench/feed.sh.
//
// With -compress it is the baseline for compressed answers too: the same
// handler behind photofeed's own compression middleware (the same library,
// levels and threshold), so a client that sends Accept-Encoding gets the
// bytes photofeed would send it, compressed on every request alike.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/photofeed/photofeed/internal/httpcompress"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	sample := flag.String("sample", "", "JSON file whose document every response marshals")
	compress := flag.Bool("compress", false, "honour Accept-Encoding (gzip, zstd) as photofeed does")
	flag.Parse()
	raw, err := os.ReadFile(*sample)
	if err != nil {
		log.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		log.Fatal(err)
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := json.Marshal(doc)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	if *compress {
		h = httpcompress.Middleware(h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/feed", h)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
