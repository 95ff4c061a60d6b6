package testenv

import (
	"bytes"
	"mime/multipart"
)

// UploadForm is the multipart body of an upload or a form post: photo as
// the "photo" file (no file part when nil), the caption, then extra as
// name, value pairs. The API's and the UI's handler tests and the
// end-to-end tests build their bodies with it alike.
func UploadForm(photo []byte, caption string, extra ...string) (contentType string, body []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if photo != nil {
		fw, _ := mw.CreateFormFile("photo", "photo.jpg")
		fw.Write(photo)
	}
	mw.WriteField("caption", caption)
	for i := 0; i+1 < len(extra); i += 2 {
		mw.WriteField(extra[i], extra[i+1])
	}
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}
