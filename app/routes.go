package app

import (
	"net/http"

	"github.com/upwatch/upwatch/checker"
)

// routes is the route table: read it as the spec of the HTTP surface.
func (a *App) routes(mux *http.ServeMux) {
	// API v1
	mux.HandleFunc("POST /api/v1/auth/signup", a.apiSignup)
	mux.HandleFunc("POST /api/v1/auth/login", a.apiLogin)
	mux.HandleFunc("POST /api/v1/users", a.requireAPI(a.apiCreateUser))
	mux.HandleFunc("GET /api/v1/me", a.requireAPI(a.apiMe))
	mux.HandleFunc("POST /api/v1/me/password", a.requireAPI(a.apiChangePassword))

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
	mux.HandleFunc("GET /api/v1/workers", a.requireAPI(a.apiWorkers))
	mux.HandleFunc("POST /api/v1/worker-tokens", a.requireAdminAPI(a.apiCreateWorkerToken))
	mux.HandleFunc("GET /api/v1/worker-tokens", a.requireAdminAPI(a.apiListWorkerTokens))
	mux.HandleFunc("DELETE /api/v1/worker-tokens/{id}", a.requireAdminAPI(a.apiRevokeWorkerToken))

	// Maintenance windows (issue 12: alerts that stay quiet when they
	// should). One block, so a restructured route table takes it whole.
	mux.HandleFunc("POST /api/v1/maintenance", a.requireAPI(a.apiCreateMaintenance))
	mux.HandleFunc("GET /api/v1/maintenance", a.requireAPI(a.apiListMaintenance))
	mux.HandleFunc("GET /api/v1/maintenance/{id}", a.requireAPI(a.apiGetMaintenance))
	mux.HandleFunc("PATCH /api/v1/maintenance/{id}", a.requireAPI(a.apiUpdateMaintenance))
	mux.HandleFunc("DELETE /api/v1/maintenance/{id}", a.requireAPI(a.apiDeleteMaintenance))
	mux.HandleFunc("GET /api/v1/monitors/{id}/sla", a.requireAPI(a.apiSLA))
	mux.HandleFunc("GET /api/v1/monitors/{id}/escalation", a.requireAPI(a.apiGetEscalation))
	mux.HandleFunc("PUT /api/v1/monitors/{id}/escalation", a.requireAPI(a.apiSetEscalation))
	mux.HandleFunc("DELETE /api/v1/monitors/{id}/escalation", a.requireAPI(a.apiDeleteEscalation))
	mux.HandleFunc("GET /api/v1/escalation", a.requireAPI(a.apiGetEscalation))
	mux.HandleFunc("PUT /api/v1/escalation", a.requireAPI(a.apiSetEscalation))
	mux.HandleFunc("DELETE /api/v1/escalation", a.requireAPI(a.apiDeleteEscalation))
	mux.HandleFunc("GET /monitors/{id}/sla", a.requirePage(a.slaPage))
	mux.HandleFunc("GET /maintenance", a.requirePage(a.maintenancePage))
	mux.HandleFunc("POST /maintenance", a.requirePage(a.createMaintenanceSubmit))
	mux.HandleFunc("POST /maintenance/{id}/delete", a.requirePage(a.deleteMaintenanceSubmit))

	// HTTPS workers: a worker token is the only credential here, and good
	// nowhere else.
	mux.HandleFunc("GET "+checker.WorkerTokenPath, a.requireWorker(a.workerToken))
	mux.HandleFunc("POST "+checker.WorkerJobsPath, a.requireWorker(a.workerJobs))
	mux.HandleFunc("POST "+checker.WorkerResultsPath, a.requireWorker(a.workerResults))
	mux.HandleFunc("POST "+checker.WorkerHeartbeatPath, a.requireWorker(a.workerHeartbeat))

	// The seed's routes: aliases with the same shapes.
	mux.HandleFunc("POST /api/websites", a.requireAPI(a.apiCreateMonitor))
	mux.HandleFunc("GET /api/websites", a.requireAPI(a.apiListMonitors))
	mux.HandleFunc("GET /api/websites/{id}", a.requireAPI(a.apiGetMonitor))
	mux.HandleFunc("DELETE /api/websites/{id}", a.requireAPI(a.apiDeleteMonitor))

	mux.HandleFunc("/api/", a.apiNotFound)
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /api/v1/monitor-types", a.requireAPI(a.apiMonitorTypes))
	mux.HandleFunc("GET /api/v1/admin/instance-alerts", a.requireAdminAPI(a.apiInstanceAlerts))
	mux.HandleFunc("PUT /api/v1/admin/instance-alerts", a.requireAdminAPI(a.apiSetInstanceAlerts))

	// Push monitors' pings: the token is the credential.
	mux.HandleFunc("/ping/{token}", a.ping)
	mux.HandleFunc("/ping/{token}/{action}", a.ping)

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
	mux.HandleFunc("GET /channels", a.requirePage(a.channelsPage))
	mux.HandleFunc("GET /channels/new", a.requirePage(a.newChannelPage))
	mux.HandleFunc("POST /channels", a.requirePage(a.createChannelSubmit))
	mux.HandleFunc("GET /channels/{id}", a.requirePage(a.channelPage))
	mux.HandleFunc("GET /channels/{id}/edit", a.requirePage(a.editChannelPage))
	mux.HandleFunc("POST /channels/{id}/edit", a.requirePage(a.editChannelSubmit))
	mux.HandleFunc("POST /channels/{id}/test", a.requirePage(a.testChannelSubmit))
	mux.HandleFunc("POST /channels/{id}/delete", a.requirePage(a.deleteChannelSubmit))
	mux.HandleFunc("GET /workers", a.requirePage(a.workersPage))
	mux.HandleFunc("POST /workers/tokens", a.requireAdmin(a.createWorkerTokenSubmit))
	mux.HandleFunc("POST /workers/tokens/{id}/revoke", a.requireAdmin(a.revokeWorkerTokenSubmit))
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
