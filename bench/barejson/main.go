// Command barejson is the floor for the feed benchmark: a bare net/http
// handler writing a saved feed page's bytes as they are, with no auth, no
// database, no encoding and no middleware: the cheapest program that
// sends the same bytes. See bench/feed.sh.
//
// With -compress it is the floor for compressed answers too: the same
// handler behind photofeed's own compression middleware (the same library,
// levels and threshold), so a client that sends Accept-Encoding gets the
// bytes photofeed would send it, compressed on every request alike.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/photofeed/photofeed/internal/httpcompress"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	sample := flag.String("sample", "", "file whose bytes every response carries")
	compress := flag.Bool("compress", false, "honour Accept-Encoding (gzip, zstd) as photofeed does")
	flag.Parse()
	body, err := os.ReadFile(*sample)
	if err != nil {
		log.Fatal(err)
	}
	length := strconv.Itoa(len(body))
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !*compress {
			w.Header().Set("Content-Length", length)
		}
		w.Write(body)
	})
	if *compress {
		h = httpcompress.Middleware(h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/feed", h)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
