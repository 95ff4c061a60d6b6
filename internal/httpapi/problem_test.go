package httpapi

import (
	"testing"

	"github.com/photofeed/photofeed/internal/problem"
)

// Every problem type the API can answer with is documented at its type URL.
func TestEveryProblemTypeIsDocumented(t *testing.T) {
	for _, slug := range problem.Slugs() {
		if _, ok := problemDocs[slug]; !ok {
			t.Errorf("an error kind answers %s, which has no documentation", slug)
		}
	}
	for _, slug := range []string{"bad-request", "method-not-allowed", "not-acceptable", "too-large", "unsupported-media-type",
		"idempotency-key-missing", "idempotency-key-invalid", "idempotency-key-in-use", "idempotency-key-reused", "idempotency-response-lost", "client-closed-request", "overloaded"} {
		if _, ok := problemDocs[slug]; !ok {
			t.Errorf("%s is not documented", slug)
		}
	}
}
