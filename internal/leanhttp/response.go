package leanhttp

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// holdBack is how much of a body without a declared length is held
// before the head is sent: a body that ends within it is sent with a
// Content-Length, a longer one chunked. It is net/http's figure, so that
// the two paths frame every answer alike (and agree on which trailers a
// handler set late are sent).
const holdBack = 2 << 10

// sniffLen is what http.DetectContentType reads at most.
const sniffLen = 512

// response is the lean loop's http.ResponseWriter. It frames the answer
// as net/http does: Content-Length when the handler declares one or the
// body ends within holdBack, else chunked; Date and a sniffed
// Content-Type when the handler sets none; trailers after a chunked body.
//
// The header sent is the state of the handler's that net/http would send
// (see Header), written into the connection's head buffer when fixed.
type response struct {
	c             *conn
	req           *http.Request
	header        http.Header // the handler's; read again only for trailers
	status        int
	wroteHeader   bool
	calledHeader  bool // the handler asked for the header
	snapped       bool // the head to send is fixed, in c.head
	sent          bool // the head is in c.bw
	chunked       bool
	hasDate       bool
	sniff         bool  // no Content-Type, nor an encoding that would make sniffing wrong
	contentLength int64 // declared by the handler; -1 when not
	written       int64
	trailers      []string // announced in the Trailer header
	trailerKeys   bool     // the header had keys with http.TrailerPrefix at WriteHeader
	close         bool     // the connection ends after this answer
	err           error    // the first write to the client that failed
}

// Header is the handler's header. Which state of it is sent follows
// net/http: the state at WriteHeader when the handler had asked for the
// header before; else at its first ask after WriteHeader; else when the
// head goes out (at the first flush, or when the handler returns).
func (w *response) Header() http.Header {
	if w.wroteHeader && !w.snapped {
		w.snapshot()
	}
	w.calledHeader = true
	return w.header
}

func (w *response) WriteHeader(code int) {
	if code < 100 || code > 999 {
		panic("invalid WriteHeader code " + strconv.Itoa(code)) // as net/http
	}
	// Informational answers are not relayed on this path: the gateway
	// reads past them upstream and never writes one.
	if w.wroteHeader || code < 200 {
		return
	}
	w.wroteHeader, w.status = true, code
	if v := w.header["Content-Length"]; len(v) > 0 {
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			w.contentLength = n
		}
	}
	if w.calledHeader {
		w.snapshot()
	}
}

// snapshot fixes the head to send from the header as it is now: its
// fields go into the connection's head buffer, all but the framing ones,
// which wait for the body (held back) to decide them.
func (w *response) snapshot() {
	w.snapped = true
	h, code := w.header, w.status
	_, w.hasDate = h["Date"]
	_, hasType := h["Content-Type"]
	_, hasTE := h["Transfer-Encoding"]
	w.sniff = !hasType && !hasTE && h.Get("Content-Encoding") == ""
	for _, v := range h["Connection"] {
		if strings.EqualFold(strings.TrimSpace(v), "close") {
			w.close = true
		}
	}
	for _, v := range h["Trailer"] {
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
			}
		}
	}
	head := append(w.c.head[:0], statusLine(code)...)
	for k, vv := range h {
		switch {
		case strings.HasPrefix(k, http.TrailerPrefix):
			w.trailerKeys = true
		case !validName(k):
		case k == "Content-Length" || k == "Transfer-Encoding": // the framing is this writer's
		case k == "Content-Type" && code == http.StatusNotModified: // RFC 9110 §15.4.5, as net/http
		default:
			for _, v := range vv {
				head = appendField(head, k, v)
			}
		}
	}
	w.c.head = head
}

// bodyAllowed: 1xx, 204 and 304 answers have no body (RFC 9110 §6.4.1).
func (w *response) bodyAllowed() bool {
	return w.status != http.StatusNoContent && w.status != http.StatusNotModified
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 { // as net/http: nothing to send, not even the head
		return 0, nil
	}
	if !w.bodyAllowed() {
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	w.written += int64(len(p))
	if w.contentLength >= 0 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	head := w.req.Method == http.MethodHead
	if !w.sent {
		if w.contentLength < 0 && w.written <= holdBack {
			// Held, to be sized if the body ends here. A HEAD answer's
			// body is not sent: only its first bytes are kept, to sniff
			// its type from.
			keep := p
			if head {
				keep = p[:min(len(p), max(sniffLen-len(w.c.body), 0))]
			}
			w.c.body = append(w.c.body, keep...)
			return len(p), nil
		}
		w.chunked = w.contentLength < 0 && !head
		w.sendHead(p)
		w.sendHeld()
	}
	if head {
		return len(p), nil
	}
	w.writeBody(p)
	if w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

func (w *response) writeBody(p []byte) {
	if len(p) == 0 || w.err != nil {
		return
	}
	bw := w.c.bw
	if w.chunked {
		var n [16]byte
		bw.Write(strconv.AppendInt(n[:0], int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	bw.Write(p)
	if w.chunked {
		bw.WriteString("\r\n")
	}
	if _, err := bw.Write(nil); err != nil {
		w.err = err
	}
}

// Flush sends the head and what is held back; an answer of unknown
// length becomes chunked.
func (w *response) Flush() { w.FlushError() }

// FlushError is Flush reporting the write's error, for
// http.ResponseController.
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.sent {
		w.chunked = w.contentLength < 0 && w.bodyAllowed() && w.req.Method != http.MethodHead
		w.sendHead(nil)
		w.sendHeld()
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	return w.err
}

// SetWriteDeadline lets a handler extend WriteTimeout (a stream), through
// http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.nc.SetWriteDeadline(t) }

// SetReadDeadline, for http.ResponseController: nothing is read while the
// handler runs, so it has nothing to bound, but it is not an error.
func (w *response) SetReadDeadline(t time.Time) error { return nil }

// EnableFullDuplex, for http.ResponseController: a request without a body
// has nothing to read while the answer is written.
func (w *response) EnableFullDuplex() error { return nil }

// finish completes the answer after the handler returned and reports
// whether the connection may serve another request.
func (w *response) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	// A body other than declared — shorter, or with a write past the
	// length refused (written counts the refused bytes too) — leaves the
	// client waiting for the rest: only closing the connection ends it.
	short := w.contentLength >= 0 && w.written != w.contentLength && w.bodyAllowed() && w.req.Method != http.MethodHead
	if !w.sent {
		if !w.snapped {
			w.snapshot()
		}
		head := w.req.Method == http.MethodHead
		trailers := len(w.trailers) > 0 || w.trailerKeys
		switch {
		case w.contentLength >= 0 || !w.bodyAllowed():
		case trailers:
			w.chunked = !head // trailers need chunks; a HEAD answer then has no length either
		case !head:
			w.contentLength = int64(len(w.c.body))
		case w.written > 0:
			w.contentLength = w.written // what a GET's would be
		}
		w.sendHead(nil)
		w.sendHeld()
	}
	if w.chunked && w.err == nil {
		w.writeTrailers()
	}
	if w.err == nil {
		w.err = w.c.bw.Flush()
	}
	return w.err == nil && !w.close && !short
}

// sendHeld writes the body held back, which for HEAD was kept only to
// sniff its type.
func (w *response) sendHeld() {
	if w.req.Method != http.MethodHead {
		w.writeBody(w.c.body)
	}
	w.c.body = w.c.body[:0]
}

// sendHead writes the head, kept since WriteHeader, and the fields the
// body decided into the connection's buffer. next is the write that made
// the head go: with what was held back, the first bytes of the body, which
// a Content-Type is sniffed from as net/http sniffs its first chunk.
func (w *response) sendHead(next []byte) {
	if !w.snapped {
		w.snapshot()
	}
	w.sent = true
	bw := w.c.bw
	bw.Write(w.c.head)
	if !w.hasDate {
		bw.WriteString("Date: ")
		bw.WriteString(httpDate())
		bw.WriteString("\r\n")
	}
	if w.bodyAllowed() {
		if w.sniff && len(w.c.body)+len(next) > 0 {
			first := w.c.body
			if len(first) < sniffLen && len(next) > 0 {
				first = append(first[:len(first):len(first)], next[:min(len(next), sniffLen-len(first))]...)
			}
			bw.WriteString("Content-Type: ")
			bw.WriteString(http.DetectContentType(first))
			bw.WriteString("\r\n")
		}
		switch {
		case w.chunked:
			bw.WriteString("Transfer-Encoding: chunked\r\n")
		case w.contentLength >= 0:
			var n [20]byte
			bw.WriteString("Content-Length: ")
			bw.Write(strconv.AppendInt(n[:0], w.contentLength, 10))
			bw.WriteString("\r\n")
		}
	}
	// The last answer before the server stops says so: the client then
	// sends its next request on a new connection, not into a close.
	if !w.close && w.c.s.closing.Load() {
		w.close = true
		bw.WriteString("Connection: close\r\n")
	}
	bw.WriteString("\r\n")
}

// appendField appends "k: v\r\n" to b. A CR or LF in a value would end
// the field, and let a handler's input split the answer: net/http turns
// them into spaces, as here.
func appendField(b []byte, k, v string) []byte {
	if strings.ContainsAny(v, "\r\n") {
		v = strings.TrimSpace(newlinesToSpace.Replace(v))
	}
	b = append(b, k...)
	b = append(b, ": "...)
	b = append(b, v...)
	return append(b, "\r\n"...)
}

var newlinesToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// writeTrailers ends a chunked body with the trailers the handler
// announced or set with http.TrailerPrefix.
func (w *response) writeTrailers() {
	b := append(w.c.head[:0], "0\r\n"...)
	for _, k := range w.trailers {
		for _, v := range w.header[k] {
			b = appendField(b, k, v)
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && validName(name) {
			for _, v := range vv {
				b = appendField(b, name, v)
			}
		}
	}
	w.c.head = append(b, "\r\n"...)
	w.c.bw.Write(w.c.head)
}

func statusLine(code int) string {
	if code == http.StatusOK {
		return "HTTP/1.1 200 OK\r\n"
	}
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	return "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
}

// dateCache holds the Date header's value for the current second: one
// format a second, not one a response.
var dateCache atomic.Pointer[cachedDate]

type cachedDate struct {
	unix int64
	text string
}

func httpDate() string {
	now := time.Now()
	if d := dateCache.Load(); d != nil && d.unix == now.Unix() {
		return d.text
	}
	d := &cachedDate{unix: now.Unix(), text: now.UTC().Format(http.TimeFormat)}
	dateCache.Store(d)
	return d.text
}
