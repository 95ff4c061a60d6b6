package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/photofeed/photofeed/internal/problem"
)

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		problem.Write(w, *problem.New(http.StatusInternalServerError, "internal", ""))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
