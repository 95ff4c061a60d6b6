package request

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/photofeed/photofeed/internal/errkind"
)

// Form parses r's form, URL-encoded or multipart, reading at most maxBytes
// of its body: a TooLarge error past that, Malformed if it cannot be read.
func Form(w http.ResponseWriter, r *http.Request, maxBytes int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxBytes)
	} else {
		err = r.ParseForm()
	}
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return errkind.New(errkind.TooLarge, fmt.Sprintf("the form is over %d bytes", maxBytes))
	}
	return malformed("the form could not be read: "+err.Error(), nil)
}
