package httplimit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/photofeed/photofeed/internal/clientip"
	"github.com/photofeed/photofeed/internal/httpauth"
	"github.com/photofeed/photofeed/internal/problem"
	"github.com/photofeed/photofeed/ratelimit"
)

// QuotaExceeded is the problem type the draft registers for a 429.
const QuotaExceeded = "https://iana.org/assignments/http-problem-types#quota-exceeded"

// AccountBackoffPolicy is the name a 429 from the per-account back-off
// gives in violated-policies.
const AccountBackoffPolicy = "account_backoff"

// Limits enforces a Config with a Limiter.
type Limits struct {
	limiter ratelimit.Limiter
	cfg     Config
	log     *slog.Logger
	backoff *backoff
	now     func() time.Time
	decided func(policy, outcome string)
}

// The outcomes OnDecision reports.
const (
	Allowed = "allowed" // within the policy's quota
	Limited = "limited" // over it: answered 429
	Failed  = "failed"  // the limiter failed: let through
)

// OnDecision has f told of every policy's decision on a request (and the
// account back-off's refusals, as AccountBackoffPolicy), for the metrics.
// Call it before the middleware serves.
func (l *Limits) OnDecision(f func(policy, outcome string)) *Limits {
	l.decided = f
	return l
}

func (l *Limits) decide(policy, outcome string) {
	if l.decided != nil {
		l.decided(policy, outcome)
	}
}

func New(limiter ratelimit.Limiter, cfg Config, log *slog.Logger) *Limits {
	return &Limits{limiter: limiter, cfg: cfg, log: log, backoff: newBackoff(cfg.AccountBackoff), now: time.Now}
}

// applied is one policy a request falls under.
type applied struct {
	name    string
	key     string
	reserve bool // spent before the request, given back unless it fails (login failures)
	ratelimit.Limit
	d ratelimit.Decision
}

// exempt paths cost nothing: probes, and immutable content that a CDN or
// the browser cache serves after the first time.
func exempt(p string) bool {
	return p == "/healthz" || p == "/readyz" || strings.HasPrefix(p, "/media/") || strings.HasPrefix(p, "/static/")
}

// classify lists the policies for r. It runs after authentication.
// For a login it also returns the username tried.
func (l *Limits) classify(r *http.Request) (out []applied, login string) {
	ip := clientIP(r)
	add := func(name, key string, reserve bool) {
		if lim, ok := l.cfg.Policies[name]; ok {
			out = append(out, applied{name: name, key: name + ":" + key, reserve: reserve, Limit: lim})
		}
	}
	uid := httpauth.UserID(r.Context())
	if uid != 0 {
		add(Authenticated, strconv.FormatInt(uid, 10), false)
	} else {
		add(Anonymous, ip, false)
	}
	if r.Method != http.MethodPost {
		return out, ""
	}
	switch trimVersion(r.URL.Path) {
	case "/posts", "/upload":
		if uid != 0 {
			add(Uploads, strconv.FormatInt(uid, 10), false)
		} else {
			add(Uploads, ip, false)
		}
	case "/accounts", "/signup":
		add(Signups, ip, false)
	case "/sessions", "/login":
		login = loginName(r)
		add(LoginFailures, login+"|"+ip, true)
	}
	return out, login
}

// trimVersion maps /v1/posts and /v2/posts to /posts; UI paths stay.
func trimVersion(p string) string {
	if len(p) > 3 && p[0] == '/' && p[1] == 'v' && p[2] >= '0' && p[2] <= '9' {
		if i := strings.IndexByte(p[1:], '/'); i > 0 {
			return p[1+i:]
		}
	}
	return p
}

// loginPeek bounds what is read of a login body to find the username: a
// login form is far smaller, and the rest of the body stays unread.
const loginPeek = 64 << 10

// loginName reads the username a login attempt names, from JSON, a
// urlencoded or a multipart form, and puts the body back for the handler.
// Usernames are lower case, so the name is folded: "Alice" and "alice"
// share a bucket.
func loginName(r *http.Request) string {
	body, err := io.ReadAll(io.LimitReader(r.Body, loginPeek))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(nameIn(r.Header.Get("Content-Type"), body)))
}

func nameIn(contentType string, body []byte) string {
	mt, params, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		v, _ := url.ParseQuery(string(body))
		return v.Get("username")
	case "multipart/form-data":
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return ""
			}
			if p.FormName() == "username" {
				b, _ := io.ReadAll(io.LimitReader(p, 256))
				return string(b)
			}
		}
	}
	var req struct {
		Username string `json:"username"`
	}
	json.Unmarshal(body, &req)
	return req.Username
}

func clientIP(r *http.Request) string { return clientip.From(r) }

// Middleware spends the request's quotas, answers 429 when one is used up,
// and otherwise passes the request on with the RateLimit headers set.
// A limiter that fails lets the request through (and logs): limits protect
// the service, they must not take it down.
func (l *Limits) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if exempt(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		pols, login := l.classify(r)
		var violated []string
		var wait time.Duration
		for i := range pols {
			p := &pols[i]
			d, err := l.limiter.AllowN(r.Context(), p.key, p.Limit, 1)
			if err != nil {
				l.log.WarnContext(r.Context(), "rate limiter failed; request let through", "policy", p.name, "err", err)
				d = ratelimit.Decision{Allowed: true, Remaining: p.Requests}
				p.reserve = false // nothing to give back
				l.decide(p.name, Failed)
			} else if d.Allowed {
				l.decide(p.name, Allowed)
			}
			p.d = d
			if !d.Allowed {
				l.decide(p.name, Limited)
				violated = append(violated, p.name)
				wait = max(wait, d.RetryAfter)
			}
		}
		isLogin := login != ""
		var knownAddr bool // the account's owner has logged in from here: no back-off
		if len(violated) == 0 && isLogin {
			ok, known, backoffWait := l.backoff.begin(login, clientIP(r), l.now())
			knownAddr = known
			if !ok {
				l.decide(AccountBackoffPolicy, Limited)
				violated, wait = append(violated, AccountBackoffPolicy), backoffWait
			}
		}
		setHeaders(w.Header(), pols)
		if len(violated) > 0 {
			l.refund(r, pols)
			tooMany(w, r, violated, wait)
			return
		}
		if !isLogin && !slices.ContainsFunc(pols, func(p applied) bool { return p.reserve }) {
			next.ServeHTTP(w, r)
			return
		}
		rec := &statusWriter{ResponseWriter: w}
		defer func() {
			// Only a failed password check keeps its reservation; a
			// success, or a request that never got to the password, gives
			// it back.
			failed := rec.status == http.StatusUnauthorized
			if !failed {
				l.refund(r, pols)
			}
			if isLogin {
				l.backoff.end(login, clientIP(r), knownAddr, failed, rec.status >= 200 && rec.status < 400, l.now())
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// refund gives back the reservations of a request that did not fail a login.
func (l *Limits) refund(r *http.Request, pols []applied) {
	for _, p := range pols {
		if !p.reserve || !p.d.Allowed {
			continue
		}
		if _, err := l.limiter.AllowN(context.WithoutCancel(r.Context()), p.key, p.Limit, -1); err != nil {
			l.log.WarnContext(r.Context(), "rate limiter failed to give back a reservation", "policy", p.name, "err", err)
		}
	}
}

// setHeaders writes the draft's fields: RateLimit-Policy: "name";q=..;w=..
// and RateLimit: "name";r=..;t=.., one list member per policy.
func setHeaders(h http.Header, pols []applied) {
	if len(pols) == 0 {
		return
	}
	// Built with appends into one buffer: these headers go on every
	// answer, and formatting them with fmt was a good part of the
	// allocations of a request through the gateway.
	var pbuf, cbuf [256]byte
	pol, cur := pbuf[:0], cbuf[:0]
	for i, p := range pols {
		if i > 0 {
			pol, cur = append(pol, ", "...), append(cur, ", "...)
		}
		pol = strconv.AppendQuote(pol, p.name)
		pol = strconv.AppendInt(append(pol, ";q="...), int64(p.Requests), 10)
		pol = strconv.AppendInt(append(pol, ";w="...), int64(p.Window/time.Second), 10)
		cur = strconv.AppendQuote(cur, p.name)
		cur = strconv.AppendInt(append(cur, ";r="...), int64(p.d.Remaining), 10)
		cur = strconv.AppendInt(append(cur, ";t="...), ceilSeconds(p.d.Reset), 10)
	}
	// The canonical forms of RateLimit-Policy and RateLimit, written
	// directly: Set would canonicalise them again on every answer.
	h["Ratelimit-Policy"] = []string{string(pol)}
	h["Ratelimit"] = []string{string(cur)}
}

func ceilSeconds(d time.Duration) int64 {
	if d >= time.Duration(math.MaxInt64) {
		return math.MaxInt32
	}
	return int64((d + time.Second - 1) / time.Second)
}

func tooMany(w http.ResponseWriter, r *http.Request, violated []string, wait time.Duration) {
	secs := max(1, ceilSeconds(wait))
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	detail := fmt.Sprintf("quota %s used up; try again in %d s", strings.Join(violated, ", "), secs)
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprintf(w, "<!doctype html><title>Too many requests</title><p>Too many requests: %s.</p><p><a href=\"javascript:history.back()\">Back</a></p>", detail)
		return
	}
	problem.Write(w, problem.Details{Type: QuotaExceeded, Title: "Quota exceeded", Status: http.StatusTooManyRequests,
		Detail: detail, ViolatedPolicies: violated})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
