package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// The document's promises to clients, checked without the outside linter
// (.ci/run runs that): every operation states who may call it, every
// error answer is an RFC 9457 problem, and the two versions' shapes are
// told apart by media type, not by a oneOf they both match.
func TestOpenAPIProblemsAndSecurity(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Responses map[string]json.RawMessage
		}
	}
	raw := OpenAPI()
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	type response struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema map[string]any
		}
	}
	resolve := func(b json.RawMessage) response {
		var r response
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
			var shared response
			if err := json.Unmarshal(doc.Components.Responses[name], &shared); err != nil || shared.Content == nil {
				t.Fatalf("%s: no such shared response", r.Ref)
			}
			return shared
		}
		return r
	}
	probe := map[string]bool{"/healthz": true, "/readyz": true} // 503 is their readiness body
	ops := 0
	for path, methods := range doc.Paths {
		for method, b := range methods {
			ops++
			var op struct {
				Security  []map[string][]string
				Responses map[string]json.RawMessage
			}
			if err := json.Unmarshal(b, &op); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"security"`) {
				t.Errorf("%s %s: no security requirement (public operations say security: [])", method, path)
			}
			client := false
			for status, rb := range op.Responses {
				client = client || status[0] == '4'
				if probe[path] || (status != "default" && status < "4") {
					continue
				}
				r := resolve(rb)
				if len(r.Content) != 1 || r.Content["application/problem+json"].Schema["$ref"] != "#/components/schemas/Problem" {
					t.Errorf("%s %s → %s: not documented as application/problem+json with the Problem schema: %v", method, path, status, r.Content)
				}
			}
			if !client && !probe[path] {
				t.Errorf("%s %s: no 4xx response documented", method, path)
			}
		}
	}
	if ops < 60 {
		t.Fatalf("only %d operations: the walk is broken", ops)
	}
	var all any
	json.Unmarshal(raw, &all)
	walk(all, func(node map[string]any) {
		alts, _ := node["oneOf"].([]any)
		seen := map[string]bool{}
		for _, a := range alts {
			ref, _ := a.(map[string]any)["$ref"].(string)
			name := strings.TrimPrefix(ref, "#/components/schemas/")
			if len(name) > 2 && (strings.HasSuffix(name, "V1") || strings.HasSuffix(name, "V2")) {
				base := name[:len(name)-2]
				if seen[base] {
					t.Errorf("a oneOf of %sV1 and %[1]sV2: an answer valid under both matches neither", base)
				}
				seen[base] = true
			}
		}
	})
}

// walk calls fn on every object in v.
func walk(v any, fn func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(v)
		for _, c := range v {
			walk(c, fn)
		}
	case []any:
		for _, c := range v {
			walk(c, fn)
		}
	}
}
