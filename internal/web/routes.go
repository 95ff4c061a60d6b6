package web

import "net/http"

// Register adds every page to mux: the whole UI surface, in one place.
func (ui *UI) Register(mux *http.ServeMux) {
	const formMax = 64 << 10
	mux.HandleFunc("GET /{$}", ui.home)
	mux.HandleFunc("GET /signup", ui.signupPage)
	mux.Handle("POST /signup", ui.form(formMax, ui.signup))
	mux.HandleFunc("GET /login", ui.loginPage)
	mux.Handle("POST /login", ui.form(formMax, ui.login))
	mux.Handle("POST /logout", ui.form(formMax, ui.logout))

	mux.HandleFunc("GET /upload", ui.needLogin(ui.uploadPage))
	mux.Handle("POST /upload", ui.needLogin(ui.form(ui.deps.MaxUploadBytes+formMax, ui.upload)))

	mux.HandleFunc("GET /u/{username}", ui.profile)
	mux.Handle("POST /u/{username}/follow", ui.needLogin(ui.form(formMax, ui.follow)))
	mux.Handle("POST /u/{username}/unfollow", ui.needLogin(ui.form(formMax, ui.unfollow)))

	mux.HandleFunc("GET /explore", ui.explore)
	mux.HandleFunc("GET /p/{id}", ui.post)
	mux.Handle("POST /p/{id}/like", ui.needLogin(ui.form(formMax, ui.like)))
	mux.Handle("POST /p/{id}/unlike", ui.needLogin(ui.form(formMax, ui.unlike)))
	mux.Handle("POST /p/{id}/delete", ui.needLogin(ui.form(formMax, ui.deletePost)))

	if ui.deps.Architecture != nil {
		mux.HandleFunc("GET /admin/architecture", ui.needAdmin(ui.architecture))
		mux.HandleFunc("GET /admin/architecture/events", ui.needAdmin(ui.architectureEvents))
	}

	mux.Handle("GET /static/", http.StripPrefix("/static/", ui.assets))
}
