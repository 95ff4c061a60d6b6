package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// maxJSONBody bounds every JSON request body; none of ours is near it.
const maxJSONBody = 64 << 10

// decodeJSON reads exactly one JSON object into v. Every way a body can be
// wrong gets its own clear problem, so clients can fix their request.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) *Problem {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/problem+json") {
			return &Problem{Type: ProblemBase + "unsupported-media-type", Status: http.StatusUnsupportedMediaType,
				Detail: "send the body as application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); !errors.Is(extra, io.EOF) {
			p := badRequest("the body must hold a single JSON object", nil)
			return &p
		}
		return nil
	}
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
		tooBig *http.MaxBytesError
	)
	var p Problem
	switch {
	case errors.As(err, &tooBig):
		p = Problem{Type: ProblemBase + "too-large", Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("the JSON body is over %d bytes", maxJSONBody)}
	case errors.Is(err, io.EOF):
		p = badRequest("the request body is empty; send a JSON object", nil)
	case errors.As(err, &syntax):
		p = badRequest(fmt.Sprintf("malformed JSON at byte %d: %v", syntax.Offset, err), nil)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		p = badRequest("a field has the wrong JSON type", map[string]string{field: "must be a JSON " + typ.Type.Kind().String()})
	case errors.Is(err, io.ErrUnexpectedEOF):
		p = badRequest("the JSON body ends too soon", nil)
	default:
		p = badRequest("the body is not valid JSON: "+err.Error(), nil)
	}
	return &p
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteProblem(w, Problem{Type: ProblemBase + "internal", Status: http.StatusInternalServerError})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// pageParams parses ?page=&limit= for offset pagination.
func pageParams(r *http.Request) (page, limit int, p *Problem) {
	fields := map[string]string{}
	page, limit = 1, 20
	q := r.URL.Query()
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			fields["page"] = "must be an integer from 1 to 1000000"
		}
		page = n
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			fields["limit"] = "must be an integer from 1 to 100"
		}
		limit = n
	}
	if len(fields) > 0 {
		pr := badRequest("bad pagination parameters", fields)
		return 0, 0, &pr
	}
	return page, limit, nil
}

// pathID parses a decimal id path value.
func pathID(r *http.Request, name string) (int64, *Problem) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		p := badRequest("bad id in path", map[string]string{name: "must be a positive decimal integer"})
		return 0, &p
	}
	return id, nil
}
