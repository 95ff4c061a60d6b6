// Package request reads what a client sent — a JSON body, a path id,
// paging parameters — for the API and the UI alike. Every way a request
// can be wrong is an errkind error (Malformed, TooLarge, Unsupported) with a
// message and fields fit for the client, so it is answered like any other
// error, through the one status table in package problem. It knows HTTP and
// errkind, nothing of photos or users.
package request

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/photofeed/photofeed/internal/errkind"
)

// MaxJSONBody bounds every JSON request body; none of ours is near it.
const MaxJSONBody = 64 << 10

// DecodeJSON reads exactly one JSON object into v. Every way a body can be
// wrong gets its own clear error, so clients can fix their request.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/problem+json") {
			return errkind.New(errkind.Unsupported, "send the body as application/json")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxJSONBody))
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			return malformed("the body must hold a single JSON object", nil)
		}
		return nil
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tooBig *http.MaxBytesError
	)
	switch {
	case errors.As(err, &tooBig):
		return errkind.New(errkind.TooLarge, fmt.Sprintf("the JSON body is over %d bytes", MaxJSONBody))
	case errors.Is(err, io.EOF):
		return malformed("the request body is empty; send a JSON object", nil)
	case errors.As(err, &syntax):
		return malformed(fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err), nil)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return malformed("a field has the wrong JSON type", map[string]string{field: "must be a JSON " + typ.Type.Kind().String()})
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("the JSON body ends too soon", nil)
	default:
		return malformed("the body is not valid JSON: "+err.Error(), nil)
	}
}

// malformed is the error for a request that cannot be read; fields, if
// any, say which inputs are wrong.
func malformed(message string, fields map[string]string) error {
	return &errkind.Error{Kind: errkind.Malformed, Message: message, Fields: fields}
}
