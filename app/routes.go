package app

import "net/http"

// routes is the route table: read it as the spec of the HTTP surface.
func (a *App) routes(mux *http.ServeMux) {
	// API v1
	mux.HandleFunc("POST /api/v1/auth/signup", a.apiSignup)
	mux.HandleFunc("POST /api/v1/auth/login", a.apiLogin)
	mux.HandleFunc("POST /api/v1/users", a.requireAPI(a.apiCreateUser))
	mux.HandleFunc("GET /api/v1/me", a.requireAPI(a.apiMe))

	mux.HandleFunc("POST /api/v1/monitors", a.requireAPI(a.apiCreateMonitor))
	mux.HandleFunc("GET /api/v1/monitors", a.requireAPI(a.apiListMonitors))
	mux.HandleFunc("GET /api/v1/monitors/{id}", a.requireAPI(a.apiGetMonitor))
	mux.HandleFunc("PATCH /api/v1/monitors/{id}", a.requireAPI(a.apiUpdateMonitor))
	mux.HandleFunc("DELETE /api/v1/monitors/{id}", a.requireAPI(a.apiDeleteMonitor))
	mux.HandleFunc("GET /api/v1/monitors/{id}/checks", a.requireAPI(a.apiListChecks))
	mux.HandleFunc("GET /api/v1/monitors/{id}/uptime", a.requireAPI(a.apiUptime))
	mux.HandleFunc("GET /api/v1/monitors/{id}/latency", a.requireAPI(a.apiLatency))
	mux.HandleFunc("GET /api/v1/monitors/{id}/incidents", a.requireAPI(a.apiMonitorIncidents))
	mux.HandleFunc("GET /api/v1/incidents", a.requireAPI(a.apiIncidents))
	mux.HandleFunc("POST /api/v1/incidents/{id}/acknowledge", a.requireAPI(a.apiAcknowledge))
	mux.HandleFunc("POST /api/v1/admin/backup", a.requireAPI(a.apiBackup))
	mux.HandleFunc("GET /api/v1/live", a.requireAPI(a.live))
	mux.HandleFunc("GET /api/v1/channel-types", a.requireAPI(a.apiChannelTypes))
	mux.HandleFunc("POST /api/v1/channels", a.requireAPI(a.apiCreateChannel))
	mux.HandleFunc("GET /api/v1/channels", a.requireAPI(a.apiListChannels))
	mux.HandleFunc("GET /api/v1/channels/{id}", a.requireAPI(a.apiGetChannel))
	mux.HandleFunc("PATCH /api/v1/channels/{id}", a.requireAPI(a.apiUpdateChannel))
	mux.HandleFunc("DELETE /api/v1/channels/{id}", a.requireAPI(a.apiDeleteChannel))
	mux.HandleFunc("POST /api/v1/channels/{id}/test", a.requireAPI(a.apiTestChannel))
	mux.HandleFunc("GET /api/v1/channels/{id}/deliveries", a.requireAPI(a.apiDeliveries))
	mux.HandleFunc("POST /api/v1/tokens", a.requireAPI(a.apiCreateToken))
	mux.HandleFunc("GET /api/v1/tokens", a.requireAPI(a.apiListTokens))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", a.requireAPI(a.apiDeleteToken))

	// The seed's routes: aliases with the same shapes.
	mux.HandleFunc("POST /api/websites", a.requireAPI(a.apiCreateMonitor))
	mux.HandleFunc("GET /api/websites", a.requireAPI(a.apiListMonitors))
	mux.HandleFunc("GET /api/websites/{id}", a.requireAPI(a.apiGetMonitor))
	mux.HandleFunc("DELETE /api/websites/{id}", a.requireAPI(a.apiDeleteMonitor))

	mux.HandleFunc("/api/", a.apiNotFound)
	mux.HandleFunc("GET /healthz", a.healthz)

	// Dashboard
	mux.Handle("GET /static/", a.assets)
	mux.HandleFunc("GET /setup", a.setupPage)
	mux.HandleFunc("POST /setup", a.setupSubmit)
	mux.HandleFunc("GET /login", a.loginPage)
	mux.HandleFunc("POST /login", a.loginSubmit)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("GET /{$}", a.requirePage(a.overviewPage))
	mux.HandleFunc("GET /monitors/new", a.requirePage(a.newMonitorPage))
	mux.HandleFunc("POST /monitors", a.requirePage(a.createMonitorSubmit))
	mux.HandleFunc("GET /monitors/{id}", a.requirePage(a.monitorPage))
	mux.HandleFunc("GET /monitors/{id}/edit", a.requirePage(a.editMonitorPage))
	mux.HandleFunc("POST /monitors/{id}/edit", a.requirePage(a.editMonitorSubmit))
	mux.HandleFunc("POST /monitors/{id}/pause", a.requirePage(a.pauseSubmit))
	mux.HandleFunc("POST /monitors/{id}/delete", a.requirePage(a.deleteSubmit))
	mux.HandleFunc("POST /incidents/{id}/acknowledge", a.requirePage(a.acknowledgeSubmit))
	mux.HandleFunc("GET /settings", a.requirePage(a.settingsGet))
	mux.HandleFunc("POST /settings/password", a.requirePage(a.changePassword))
	mux.HandleFunc("POST /settings/sessions/{id}/revoke", a.requirePage(a.revokeSession))
	mux.HandleFunc("POST /settings/tokens", a.requirePage(a.createTokenSubmit))
	mux.HandleFunc("POST /settings/tokens/{id}/revoke", a.requirePage(a.revokeTokenSubmit))
	mux.HandleFunc("POST /settings/users", a.requireAdmin(a.createUserSubmit))
	mux.HandleFunc("POST /settings/users/{id}/disable", a.requireAdmin(a.disableUserSubmit))
	mux.HandleFunc("POST /settings/users/{id}/password", a.requireAdmin(a.resetPasswordSubmit))
	mux.HandleFunc("/", a.notFoundPage)
}
