// Command seed fills a running photofeed through its public API for
// benchmarks: one reader who follows -authors authors of -posts photos each.
// It prints the reader's bearer token.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/photofeed/photofeed/bench/benchapi"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "photofeed base URL")
	authors := flag.Int("authors", 50, "authors the reader follows")
	posts := flag.Int("posts", 10, "photos per author")
	sample := flag.String("photo", "", "also write a sample upload body (multipart/form-data, boundary "+benchapi.Boundary+") to this file, for load tests")
	flag.Parse()
	if *sample != "" {
		if err := os.WriteFile(*sample, benchapi.UploadBody("#bench upload", benchapi.Photo(7, 7)), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	reader := benchapi.Account(*base, "reader")
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for a := range *authors {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("author_%03d", a)
			tok := benchapi.Account(*base, name)
			for p := range *posts {
				benchapi.Upload(*base, tok, fmt.Sprintf("photo %d of %s #bench", p, name), benchapi.Photo(a, p))
			}
			benchapi.Follow(*base, reader, name)
		})
	}
	wg.Wait()
	fmt.Println(reader)
}
