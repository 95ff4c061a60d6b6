package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// The OpenAPI 3.1 document is built here from one table of operations,
// written once and expanded for /v1, /v2 and the unversioned paths, with
// each version's schemas. Every schema closes its objects
// (additionalProperties: false), and the end-to-end tests validate every
// response they receive against this document: an undocumented route or
// field fails them.

type m = map[string]any

func ref(name string) m { return m{"$ref": "#/components/schemas/" + name} }

func str() m      { return m{"type": "string"} }
func integer() m  { return m{"type": "integer"} }
func boolean() m  { return m{"type": "boolean"} }
func dateTime() m { return m{"type": "string", "format": "date-time"} }
func idStr() m {
	return m{"type": "string", "pattern": "^[0-9]+$", "description": "64-bit id as a decimal string"}
}
func arrayOf(s m) m {
	return m{"type": "array", "items": s}
}

// object is a closed object whose properties are all required except
// those named in optional.
func object(props m, optional ...string) m {
	var req []string
	for k := range props {
		if !slices.Contains(optional, k) {
			req = append(req, k)
		}
	}
	slices.Sort(req)
	o := m{"type": "object", "properties": props, "additionalProperties": false}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}

// nullable allows null besides s.
func nullable(s m) m { return m{"oneOf": []m{s, {"type": "null"}}} }

func schemas() m {
	image2 := object(m{"url": str(), "width": integer(), "height": integer()})
	status := m{"type": "string", "enum": []string{"processing", "ready", "failed"},
		"description": "images are null until ready; a post enters feeds when ready"}
	return m{
		"Problem": object(m{
			"type": str(), "title": str(), "status": integer(), "detail": str(), "instance": str(),
			"errors":            m{"type": "object", "additionalProperties": str()},
			"violated-policies": arrayOf(str()),
		}, "detail", "instance", "errors", "violated-policies"),
		"AccountRequest": m{"type": "object", "properties": m{
			"username": m{"type": "string", "pattern": "^[a-z0-9_]{3,30}$"}, "password": m{"type": "string", "minLength": 10},
			"display_name": m{"type": "string", "maxLength": 50}}, "required": []string{"username", "password"}},
		"SessionRequest": m{"type": "object", "properties": m{"username": str(), "password": str()},
			"required": []string{"username", "password"}},
		"Session":     object(m{"token": str(), "expires_at": dateTime()}),
		"UserSummary": object(m{"id": idStr(), "username": str(), "display_name": str()}),
		"UserV1": object(m{"id": idStr(), "username": str(), "display_name": str(),
			"followers_count": integer(), "following_count": integer(), "posts_count": integer(), "created_at": dateTime()}),
		"UserV2": object(m{"id": idStr(), "username": str(), "display_name": str(),
			"counts": object(m{"followers": integer(), "following": integer(), "posts": integer()}), "created_at": dateTime()}),
		"PostV1": object(m{"id": idStr(), "author": ref("UserSummary"), "caption": str(), "created_at": dateTime(),
			"like_count": integer(), "liked_by_me": boolean(), "status": status,
			"images": nullable(object(m{"thumb": str(), "large": str(), "original": str()}))}),
		"PostV2": object(m{"id": idStr(), "caption": str(), "created_at": dateTime(), "like_count": integer(), "liked_by_me": boolean(),
			"author": object(m{"id": idStr(), "username": str(), "display_name": str(), "profile": str()}), "status": status,
			"images": nullable(object(m{"thumb": image2, "large": image2, "original": image2}))}),
		"UserList": object(m{"items": arrayOf(ref("UserSummary"))}),
		"HomeV2": object(m{"me": ref("UserV2"), "feed": ref("FeedV2"), "suggestions": arrayOf(ref("UserSummary")),
			"warnings": m{"type": "array", "items": str(), "description": "the parts left out, each as \"part: why\" (a partial answer)"}},
			"me", "suggestions", "warnings"),
		"UserPage":   object(m{"items": arrayOf(ref("UserSummary")), "page": integer(), "limit": integer(), "total": integer()}),
		"PostPageV1": object(m{"items": arrayOf(ref("PostV1")), "page": integer(), "limit": integer(), "total": integer()}),
		"PostPageV2": object(m{"items": arrayOf(ref("PostV2")), "page": integer(), "limit": integer(), "total": integer()}),
		"FeedV1":     object(m{"items": arrayOf(ref("PostV1")), "next_cursor": str()}, "next_cursor"),
		"FeedV2": object(m{"items": arrayOf(ref("PostV2")), "next_cursor": str(),
			"warning": m{"type": "string", "description": `set when the page is stale: the stores cannot be read, and this is the first page as last served to the reader (the response also carries "Warning: 110")`}},
			"next_cursor", "warning"),
		"Health": object(m{
			"status": m{"type": "string", "enum": []string{"ok", "degraded", "unavailable"},
				"description": `"degraded" (still 200): a part every node shares is down and the node serves what it can without it`},
			"store":    m{"type": "string", "description": `"ok"; "primary unreachable" (degraded: reads from the replicas, writes 503); "unreachable" (503 for the node's own database; degraded, 200, for PostgreSQL, which every node shares)`},
			"bus":      m{"type": "string", "description": `"ok", or "disconnected" (degraded: reads and writes go on, the feed's freshness lags)`},
			"events":   m{"type": "string", "description": `"ok", or the event consumers that are not running and why`},
			"workers":  m{"type": "string", "description": `"ok", or the background workers that are down (failed, not yet back) and why`},
			"replicas": arrayOf(object(m{"database": str(), "addr": str(), "healthy": boolean(), "lag_ms": integer()})),
			"upstreams": m{"type": "array", "description": "on a gateway (which has no store): its upstreams; ready while one takes requests",
				"items": object(m{"url": str(), "usable": boolean(), "healthy": boolean(), "ejected": boolean(), "draining": boolean(), "breaker": str(), "in_flight": integer(), "streams": integer()})},
		}, "store", "bus", "replicas", "events", "workers", "upstreams"),
		"Job": object(m{"id": idStr(), "database": str(), "kind": str(), "queue": str(), "state": str(), "attempt": integer(), "max_attempts": integer(),
			"args": m{}, "last_error": str(), "created_at": dateTime(), "finalized_at": dateTime()}, "last_error", "finalized_at", "database"),
		"JobList":  object(m{"items": arrayOf(ref("Job"))}),
		"SearchV1": object(m{"items": m{"type": "array", "items": m{"oneOf": []m{ref("UserSummary"), ref("PostV1")}}}, "next_cursor": str()}, "next_cursor"),
		"SearchV2": object(m{"items": m{"type": "array", "items": m{"oneOf": []m{ref("UserSummary"), ref("PostV2")}}}, "next_cursor": str(),
			"warning": m{"type": "string", "description": `set when the index may be behind: the node cannot hear of new posts and accounts now (the event bus is down), so the newest may be missing (the response also carries "Warning: 110")`}},
			"next_cursor", "warning"),
	}
}

// operation is one API operation, written once for every version.
type operation struct {
	method, path, summary string
	auth                  bool
	params                []m
	body                  m      // request body content, if any
	status                int    // success status
	result                string // schema name without the version suffix; "" for no body
	versioned             bool   // result differs by version (…V1 / …V2)
	more                  []int  // problem statuses besides those problems derives
}

// resultContent is an operation's success body: on /v1 and /v2 paths JSON
// of that version's schema; on unversioned paths the vendor type labelled
// with the version that served it (see Versions), each with its own schema,
// so the two versions' shapes need not exclude each other.
func resultContent(op operation, prefix string) m {
	switch {
	case !op.versioned && prefix == "":
		return m{VendorType + "; version=1": m{"schema": ref(op.result)}, VendorType + "; version=2": m{"schema": ref(op.result)}}
	case !op.versioned:
		return m{"application/json": m{"schema": ref(op.result)}}
	case prefix == "":
		return m{VendorType + "; version=1": m{"schema": ref(op.result + "V1")}, VendorType + "; version=2": m{"schema": ref(op.result + "V2")}}
	}
	return m{"application/json": m{"schema": ref(op.result + strings.ToUpper(strings.TrimPrefix(prefix, "/")))}}
}

func pathParam(name string, schema m) m {
	return m{"name": name, "in": "path", "required": true, "schema": schema}
}

func query(name string, schema m, desc string) m {
	return m{"name": name, "in": "query", "schema": schema, "description": desc}
}

var (
	username  = pathParam("username", str())
	postID    = pathParam("id", str())
	pageQuery = []m{
		query("page", m{"type": "integer", "minimum": 1, "default": 1}, "page number, from 1"),
		query("limit", m{"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "items per page"),
	}
	idemKey = m{"name": "Idempotency-Key", "in": "header", "schema": str(),
		"description": `a structured-field string, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324"; required on POST /v2/posts. A retry is matched by the body's meaning (multipart parts, parsed JSON), not its bytes. 2xx, 3xx and 4xx answers are replayed; 5xx, 429 and 499 answers are not kept, so a retry runs again (or, if the first request committed, is answered from what it created). On POST /sessions the key is checked but nothing is stored: a retried login runs again`}
	jsonBody = func(schema string) m { return m{"application/json": m{"schema": ref(schema)}} }
)

func operations() []operation {
	upload := m{"multipart/form-data": m{"schema": m{"type": "object", "required": []string{"photo"}, "properties": m{
		"photo":   m{"type": "string", "contentMediaType": "application/octet-stream", "description": "JPEG, PNG, GIF or WebP"},
		"caption": m{"type": "string", "maxLength": 2200}}}}}
	return []operation{
		{method: "POST", path: "/accounts", summary: "Create an account", params: []m{idemKey}, body: jsonBody("AccountRequest"), status: 201, result: "User", versioned: true, more: []int{409}},
		{method: "POST", path: "/sessions", summary: "Log in", params: []m{idemKey}, body: jsonBody("SessionRequest"), status: 201, result: "Session"},
		{method: "DELETE", path: "/sessions/current", summary: "Log out", auth: true, status: 204},
		{method: "GET", path: "/me", summary: "The current user", auth: true, status: 200, result: "User", versioned: true},
		{method: "GET", path: "/users/{username}", summary: "A profile", params: []m{username}, status: 200, result: "User", versioned: true},
		{method: "GET", path: "/users/{username}/followers", summary: "Followers", params: append([]m{username}, pageQuery...), status: 200, result: "UserPage"},
		{method: "GET", path: "/users/{username}/following", summary: "Followed users", params: append([]m{username}, pageQuery...), status: 200, result: "UserPage"},
		{method: "GET", path: "/users/{username}/posts", summary: "A user's posts, newest first", params: append([]m{username}, pageQuery...), status: 200, result: "PostPage", versioned: true},
		{method: "PUT", path: "/me/following/{username}", summary: "Follow", auth: true, params: []m{username}, status: 204, more: []int{422}},
		{method: "DELETE", path: "/me/following/{username}", summary: "Unfollow", auth: true, params: []m{username}, status: 204},
		{method: "GET", path: "/suggestions", summary: "People to follow: followed by those you follow, not by you yet", auth: true, params: []m{
			query("limit", m{"type": "integer", "minimum": 1, "maximum": 50, "default": 10}, "at most this many")}, status: 200, result: "UserList"},
		{method: "POST", path: "/posts", summary: "Post a photo", auth: true, params: []m{idemKey}, body: upload, status: 201, result: "Post", versioned: true},
		{method: "GET", path: "/posts/{id}", summary: "A post", params: []m{postID}, status: 200, result: "Post", versioned: true},
		{method: "DELETE", path: "/posts/{id}", summary: "Delete your post", auth: true, params: []m{postID}, status: 204},
		{method: "PUT", path: "/posts/{id}/like", summary: "Like", auth: true, params: []m{postID}, status: 204},
		{method: "DELETE", path: "/posts/{id}/like", summary: "Unlike", auth: true, params: []m{postID}, status: 204},
		{method: "GET", path: "/feed", summary: "Home feed, newest first", auth: true, params: []m{
			query("limit", m{"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "items per page"),
			query("cursor", str(), "next_cursor of the previous page; opaque")}, status: 200, result: "Feed", versioned: true},
		{method: "GET", path: "/search", summary: "Search users or posts (#hashtag searches hashtags)", params: []m{
			query("q", m{"type": "string", "minLength": 1, "maxLength": 200}, "words, a username prefix, or #hashtag"),
			query("type", m{"type": "string", "enum": []string{"users", "posts"}, "default": "posts"}, "what to search"),
			query("limit", m{"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "items per page"),
			query("cursor", str(), "next_cursor of the previous page; opaque")}, status: 200, result: "Search", versioned: true},
		{method: "GET", path: "/admin/jobs", summary: "Background jobs by state (admin); discarded jobs are the dead letters", auth: true, params: []m{
			query("state", m{"type": "string", "default": "discarded"}, "available, running, retryable, scheduled, completed, cancelled or discarded"),
			query("limit", m{"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "at most this many")}, status: 200, result: "JobList"},
		{method: "POST", path: "/admin/jobs/{id}/retry", summary: "Run a job again (admin)", auth: true, params: []m{postID, idemKey,
			query("database", str(), "the job's database, as listed (default: the main one)")}, status: 200, result: "Job"},
	}
}

// problemKinds are the problem answers an operation documents by status,
// each an RFC 9457 problem (the Problem schema, application/problem+json);
// the default response covers the rest (500, 503).
var problemKinds = map[int]string{
	400: "The request could not be read: malformed JSON, a bad parameter or cursor, or a malformed Idempotency-Key (bad-request, idempotency-key-invalid).",
	401: "No valid session where one is needed, a wrong password, or a bearer token that is expired, revoked or forged, which is refused on every route (unauthenticated).",
	403: "Signed in, but not allowed: administration needs an admin (forbidden).",
	404: "No such user, post, media or problem type (not-found).",
	406: "The Accept header names an API version that does not exist (not-acceptable).",
	409: "A clash with what exists, such as a taken username (conflict), or an Idempotency-Key whose first request is still running or whose response was not kept (idempotency-key-in-use, idempotency-response-lost).",
	413: "The body is over its limit (too-large).",
	415: "The body's media type, or the photo's format judged by its bytes, is not accepted (unsupported-media-type).",
	422: "A field breaks a rule (validation-error), or an Idempotency-Key was used before with a different request (idempotency-key-reused).",
	429: "A rate-limit quota is used up; Retry-After says when to try again (quota-exceeded).",
}

// problemName names a status's shared response; 0 is the default.
func problemName(status int) string {
	if status == 0 {
		return "Problem"
	}
	return strings.ReplaceAll(http.StatusText(status), " ", "")
}

func problemRef(status int) m { return m{"$ref": "#/components/responses/" + problemName(status)} }

// problemResponses are the shared responses problemRef points at.
func problemResponses() m {
	out := m{problemName(0): problemContent("Any other problem: 500 for a fault on the server, 503 when a part the request needs is down or the server is overloaded (Retry-After says when to retry).")}
	for status, desc := range problemKinds {
		out[problemName(status)] = problemContent(desc)
	}
	return out
}

func problemContent(desc string) m {
	return m{"description": desc, "content": m{"application/problem+json": m{"schema": ref("Problem")}}}
}

// problems lists the problem statuses an operation can answer besides the
// default: every API route may meet a refused token (401) and a used-up
// quota (429); the rest follows from what the operation takes.
func (op operation) problems(prefix string) []int {
	out := []int{401, 429}
	if prefix == "" {
		out = append(out, 406)
	}
	if len(op.params) > 0 || op.body != nil {
		out = append(out, 400)
	}
	if strings.Contains(op.path, "{") {
		out = append(out, 404)
	}
	if strings.HasPrefix(op.path, "/admin/") {
		out = append(out, 403)
	}
	if op.body != nil {
		out = append(out, 413, 415, 422)
	}
	if slices.ContainsFunc(op.params, func(p m) bool { return p["name"] == idemKey["name"] }) {
		out = append(out, 409, 422)
	}
	out = append(out, op.more...)
	slices.Sort(out)
	return slices.Compact(out)
}

// public is an operation anyone may call: no security requirement.
var public = []m{}

// OpenAPI returns the document as JSON.
func OpenAPI() []byte {
	paths := m{}
	for _, op := range operations() {
		for _, prefix := range []string{"/v1", "/v2", ""} {
			p, _ := paths[prefix+op.path].(m)
			if p == nil {
				p = m{}
				paths[prefix+op.path] = p
			}
			p[strings.ToLower(op.method)] = op.document(prefix)
		}
	}
	paths["/v2/feed/stream"] = streamOperation()
	addUnversionedPaths(paths)
	doc := m{
		"openapi": "3.1.0",
		"info": m{"title": "photofeed", "version": "2",
			"description": "Photo sharing: accounts, posts, follows and a home feed. v1 is deprecated (see the Deprecation and Sunset headers); v2 is current."},
		// Relative: the API is wherever this document is served from.
		"servers": []m{{"url": "/", "description": "the server that serves this document"}},
		"paths":   paths,
		"components": m{
			"schemas":   schemas(),
			"responses": problemResponses(),
			"securitySchemes": m{
				"bearer": m{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
				"cookie": m{"type": "apiKey", "in": "cookie", "name": "photofeed_session"},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // the document is built from literals above
	}
	return b
}

// document is the operation object for op under the version prefix.
func (op operation) document(prefix string) m {
	responses := m{"default": problemRef(0)}
	for _, status := range op.problems(prefix) {
		responses[itoa(int64(status))] = problemRef(status)
	}
	o := m{
		"summary":     op.summary,
		"operationId": strings.ToLower(op.method) + strings.NewReplacer("/", "_", "{", "", "}", "").Replace(prefix+op.path),
		"responses":   responses,
		"security":    public,
	}
	if prefix == "/v1" {
		o["deprecated"] = true
	}
	if len(op.params) > 0 {
		o["parameters"] = op.params
	}
	if op.body != nil {
		o["requestBody"] = m{"required": true, "content": op.body}
	}
	if op.auth {
		o["security"] = []m{{"bearer": []string{}}, {"cookie": []string{}}}
	}
	resp := m{"description": http.StatusText(op.status)}
	if op.result != "" {
		resp["content"] = resultContent(op, prefix)
	}
	responses[itoa(int64(op.status))] = resp
	return o
}

// addUnversionedPaths adds the paths outside the versioned API: images,
// probes, problem documentation and this document.
func addUnversionedPaths(paths m) {
	paths["/media/{key}"] = m{"get": m{"summary": "Image bytes (immutable; ETag, 304)", "operationId": "get_media", "security": public,
		"parameters": []m{pathParam("key", str())},
		"responses": m{"default": problemRef(0), "304": m{"description": "Not Modified"}, "404": problemRef(404),
			"200": m{"description": "OK", "content": m{"image/jpeg": m{}, "image/png": m{}}}}}}
	// Served by the gateway role (photofeed serve --roles gateway), which
	// asks the api nodes for the three parts at once.
	paths["/v2/home"] = m{"get": m{"summary": "Home: your profile, the first feed page and suggestions, in one answer (gateway)",
		"operationId": "get_v2_home", "security": []m{{"bearer": []string{}}, {"cookie": []string{}}},
		"parameters": []m{query("limit", m{"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "feed items")},
		"responses": m{"default": problemRef(0), "400": problemRef(400), "401": problemRef(401), "429": problemRef(429),
			"200": m{"description": "OK; a part that timed out or failed is left out and named in warnings",
				"content": m{"application/json": m{"schema": ref("HomeV2")}}}}}}
	for _, p := range []string{"/healthz", "/readyz"} {
		paths[p] = m{"get": m{"summary": "Probe", "operationId": "get" + strings.TrimPrefix(p, "/"), "security": public,
			"responses": m{"200": m{"description": "OK", "content": m{"application/json": m{"schema": ref("Health")}}},
				"503": m{"description": "Unavailable", "content": m{"application/json": m{"schema": ref("Health")}}}}}}
	}
	paths["/problems/{slug}"] = m{"get": m{"summary": "Documentation of a problem type", "operationId": "get_problem_doc", "security": public,
		"parameters": []m{pathParam("slug", str())},
		"responses":  m{"default": problemRef(0), "404": problemRef(404), "429": problemRef(429), "200": m{"description": "OK", "content": m{"text/html": m{}}}}}}
	paths["/openapi.json"] = m{"get": m{"summary": "This document", "operationId": "get_openapi", "security": public,
		"responses": m{"429": problemRef(429), "200": m{"description": "OK", "content": m{"application/json": m{}}}}}}
}

func (a *API) getOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(a.openapi)
}
