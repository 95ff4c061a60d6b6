package idempotency

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

// FuzzFingerprint feeds the fingerprint hostile bodies: it must read each
// to its end without failing, give the same answer twice, and give a
// re-encoded body of the same meaning (JSON re-marshalled, multipart
// rewritten with a new boundary) the same fingerprint.
func FuzzFingerprint(f *testing.F) {
	f.Add("application/json", []byte(`{"b":[1,2.50,{"x":null}],"a":"\u00e9","a":true}`))
	f.Add("application/problem+json", []byte(` [ "x" , -0 , 1e3 ] `))
	f.Add("application/json", []byte(`{"a":`))
	f.Add("application/json", []byte(strings.Repeat("[", 100)+strings.Repeat("]", 100)))
	f.Add("multipart/form-data; boundary=xx", []byte("--xx\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n--xx\r\nContent-Disposition: form-data; name=caption\r\n\r\nhi\r\n--xx--\r\n"))
	f.Add("multipart/form-data; boundary=xx", []byte("--xx\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Disposition: form-data; name=q\r\n\r\na=3Db\r\n--xx--"))
	f.Add("multipart/form-data; boundary=xx", []byte("--xx\r\nbroken header\r\n\r\n"))
	f.Add("text/plain", []byte("hello"))
	f.Add("", []byte{})
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		src := bytes.NewReader(body)
		d1, err := Fingerprint(contentType, src)
		if err != nil {
			t.Fatalf("reading from memory failed: %v", err)
		}
		if src.Len() != 0 {
			t.Fatalf("%d bytes left unread", src.Len())
		}
		d2, _ := Fingerprint(contentType, bytes.NewReader(body))
		if !bytes.Equal(d1, d2) {
			t.Fatal("two fingerprints of one body differ")
		}
		if len(body) > 1<<16 {
			return
		}
		if _, ok := jsonDigest(bytes.NewReader(body)); ok && strings.HasPrefix(contentType, "application/json") {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("canonical form of JSON that does not decode: %v", err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := Fingerprint(contentType, bytes.NewReader(again)); !bytes.Equal(d, d1) {
				t.Fatalf("%s re-marshalled as %s has another fingerprint", body, again)
			}
		}
		if ct, rebuilt, ok := rewriteForm(contentType, body); ok {
			if d, _ := Fingerprint(ct, bytes.NewReader(rebuilt)); !bytes.Equal(d, d1) {
				t.Fatalf("%q rewritten as %q has another fingerprint", body, rebuilt)
			}
		}
	})
}

// rewriteForm parses a multipart body and writes its parts again, as a
// client retrying would; ok is false for bodies it cannot parse or whose
// names cannot be written again as they were read.
func rewriteForm(contentType string, body []byte) (string, []byte, bool) {
	mt, params, ok := strings.Cut(contentType, "; boundary=")
	if !ok || mt != "multipart/form-data" {
		return "", nil, false
	}
	type part struct {
		name, file, ctype string
		content           []byte
	}
	var parts []part
	mr := multipart.NewReader(bytes.NewReader(body), params)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, false
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return "", nil, false
		}
		parts = append(parts, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), b})
	}
	var out bytes.Buffer
	mw := multipart.NewWriter(&out)
	for _, p := range parts {
		for _, s := range []string{p.name, p.file, p.ctype} {
			if strings.ContainsAny(s, "\"\\\r\n;=") || strings.TrimSpace(s) != s {
				return "", nil, false
			}
		}
		if p.name == "" {
			return "", nil, false
		}
		h := textproto.MIMEHeader{}
		disp := `form-data; name="` + p.name + `"`
		if p.file != "" {
			disp += `; filename="` + p.file + `"`
		}
		h.Set("Content-Disposition", disp)
		if p.ctype != "" {
			h.Set("Content-Type", canonicalType(p.ctype))
		}
		w, _ := mw.CreatePart(h)
		w.Write(p.content)
	}
	mw.Close()
	return mw.FormDataContentType(), out.Bytes(), true
}
