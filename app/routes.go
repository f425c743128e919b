package app

import (
	"net/http"

	"github.com/upwatch/upwatch/checker"
)

// routes installs the route table.
func (a *App) routes(mux *http.ServeMux) {
	for _, rt := range a.routeTable() {
		mux.HandleFunc(rt.pattern, a.guard(rt))
	}
}

// routeTable is every route with who may use it (authz.go): one place to
// read the HTTP surface and its authorization, and what the authorization
// matrix test walks.
func (a *App) routeTable() []route {
	return []route{
		// API v1
		{"POST /api/v1/auth/signup", public, a.apiSignup},
		{"POST /api/v1/auth/login", public, a.apiLogin},
		{"POST /api/v1/users", apiAdmin, a.apiCreateUser},
		{"GET /api/v1/users", apiAdmin, a.apiListUsers},
		{"PUT /api/v1/users/{id}/role", apiAdmin, a.apiSetRole},
		{"PATCH /api/v1/users/{id}", apiAdmin, a.apiUpdateUser}, // quotas (limits.go)
		{"GET /api/v1/me", apiSelf, a.apiMe},
		{"POST /api/v1/me/password", apiSelfWrite, a.apiChangePassword},

		{"POST /api/v1/monitors", apiWrite, a.apiCreateMonitor},
		{"GET /api/v1/monitors", apiRead, a.apiListMonitors},
		{"GET /api/v1/monitors/{id}", apiRead, a.apiGetMonitor},
		{"PATCH /api/v1/monitors/{id}", apiWrite, a.apiUpdateMonitor},
		{"DELETE /api/v1/monitors/{id}", apiWrite, a.apiDeleteMonitor},
		{"GET /api/v1/monitors/{id}/checks", apiRead, a.apiListChecks},
		{"GET /api/v1/monitors/{id}/uptime", apiRead, a.apiUptime},
		{"GET /api/v1/monitors/{id}/latency", apiRead, a.apiLatency},
		{"GET /api/v1/monitors/{id}/incidents", apiRead, a.apiMonitorIncidents},
		{"GET /api/v1/incidents", apiRead, a.apiIncidents},
		{"POST /api/v1/incidents/{id}/acknowledge", apiWrite, a.apiAcknowledge},
		{"POST /api/v1/admin/backup", apiAdmin, a.apiBackup},
		{"GET /api/v1/live", apiRead, a.live},
		{"GET /api/v1/channel-types", apiRead, a.apiChannelTypes},
		{"POST /api/v1/channels", apiWrite, a.apiCreateChannel},
		{"GET /api/v1/channels", apiRead, a.apiListChannels},
		{"GET /api/v1/channels/{id}", apiRead, a.apiGetChannel},
		{"PATCH /api/v1/channels/{id}", apiWrite, a.apiUpdateChannel},
		{"DELETE /api/v1/channels/{id}", apiWrite, a.apiDeleteChannel},
		{"POST /api/v1/channels/{id}/test", apiWrite, a.apiTestChannel},
		{"GET /api/v1/channels/{id}/deliveries", apiRead, a.apiDeliveries},
		{"POST /api/v1/tokens", apiSelfWrite, a.apiCreateToken},
		{"GET /api/v1/tokens", apiSelf, a.apiListTokens},
		{"DELETE /api/v1/tokens/{id}", apiSelfWrite, a.apiDeleteToken},
		{"GET /api/v1/workers", apiRead, a.apiWorkers},
		{"POST /api/v1/worker-tokens", apiAdmin, a.apiCreateWorkerToken},
		{"GET /api/v1/worker-tokens", apiAdmin, a.apiListWorkerTokens},
		{"DELETE /api/v1/worker-tokens/{id}", apiAdmin, a.apiRevokeWorkerToken},

		// HTTPS workers: a worker token is the only credential here, and good
		// nowhere else.
		{"GET " + checker.WorkerTokenPath, workerTok, a.requireWorker(a.workerToken)},
		{"POST " + checker.WorkerJobsPath, workerTok, a.requireWorker(a.workerJobs)},
		{"POST " + checker.WorkerResultsPath, workerTok, a.requireWorker(a.workerResults)},
		{"POST " + checker.WorkerHeartbeatPath, workerTok, a.requireWorker(a.workerHeartbeat)},

		// The seed's routes: aliases with the same shapes.
		{"POST /api/websites", apiWrite, a.apiCreateMonitor},
		{"GET /api/websites", apiRead, a.apiListMonitors},
		{"GET /api/websites/{id}", apiRead, a.apiGetMonitor},
		{"DELETE /api/websites/{id}", apiWrite, a.apiDeleteMonitor},

		{"/api/", public, a.apiNotFound},
		{"GET /healthz", public, a.healthz},
		{"GET /metrics", scraper, a.metricsEndpoint},
		{"GET /api/openapi.json", public, a.openAPIJSON},
		{"GET /api/docs", public, a.apiDocsPage},
		{"GET /api/v1/monitor-types", apiRead, a.apiMonitorTypes},
		{"GET /api/v1/admin/instance-alerts", apiAdmin, a.apiInstanceAlerts},
		{"PUT /api/v1/admin/instance-alerts", apiAdmin, a.apiSetInstanceAlerts},

		// Push monitors' pings: the token is the credential.
		{"/ping/{token}", public, a.ping},
		{"/ping/{token}/{action}", public, a.ping},

		// Dashboard
		{"GET /static/", public, a.assets.ServeHTTP},
		{"GET /setup", public, a.setupPage},
		{"POST /setup", public, a.setupSubmit},
		{"GET /login", public, a.loginPage},
		{"POST /login", public, a.loginSubmit},
		{"POST /logout", public, a.logout},
		{"GET /{$}", pageRead, a.overviewPage},
		{"GET /monitors/new", pageWrite, a.newMonitorPage},
		{"POST /monitors", pageWrite, a.createMonitorSubmit},
		{"GET /monitors/{id}", pageRead, a.monitorPage},
		{"GET /monitors/{id}/edit", pageWrite, a.editMonitorPage},
		{"POST /monitors/{id}/edit", pageWrite, a.editMonitorSubmit},
		{"POST /monitors/{id}/pause", pageWrite, a.pauseSubmit},
		{"POST /monitors/{id}/delete", pageWrite, a.deleteSubmit},
		{"POST /incidents/{id}/acknowledge", pageWrite, a.acknowledgeSubmit},
		{"GET /channels", pageRead, a.channelsPage},
		{"GET /channels/new", pageWrite, a.newChannelPage},
		{"POST /channels", pageWrite, a.createChannelSubmit},
		{"GET /channels/{id}", pageRead, a.channelPage},
		{"GET /channels/{id}/edit", pageWrite, a.editChannelPage},
		{"POST /channels/{id}/edit", pageWrite, a.editChannelSubmit},
		{"POST /channels/{id}/test", pageWrite, a.testChannelSubmit},
		{"POST /channels/{id}/delete", pageWrite, a.deleteChannelSubmit},
		{"GET /workers", pageRead, a.workersPage},
		{"POST /workers/tokens", pageAdmin, a.createWorkerTokenSubmit},
		{"POST /workers/tokens/{id}/revoke", pageAdmin, a.revokeWorkerTokenSubmit},
		{"GET /settings", pageSelf, a.settingsGet},
		{"POST /settings/password", pageSelfWrite, a.changePassword},
		{"POST /settings/sessions/{id}/revoke", pageSelfWrite, a.revokeSession},
		{"POST /settings/tokens", pageSelfWrite, a.createTokenSubmit},
		{"POST /settings/tokens/{id}/revoke", pageSelfWrite, a.revokeTokenSubmit},
		{"POST /settings/users", pageAdmin, a.createUserSubmit},
		{"POST /settings/users/{id}/disable", pageAdmin, a.disableUserSubmit},
		{"POST /settings/users/{id}/password", pageAdmin, a.resetPasswordSubmit},
		{"POST /settings/users/{id}/role", pageAdmin, a.setRoleSubmit},
		// Maintenance windows, SLA reports and escalation.
		{"POST /api/v1/maintenance", apiWrite, a.apiCreateMaintenance},
		{"GET /api/v1/maintenance", apiRead, a.apiListMaintenance},
		{"GET /api/v1/maintenance/{id}", apiRead, a.apiGetMaintenance},
		{"PATCH /api/v1/maintenance/{id}", apiWrite, a.apiUpdateMaintenance},
		{"DELETE /api/v1/maintenance/{id}", apiWrite, a.apiDeleteMaintenance},
		{"GET /api/v1/monitors/{id}/sla", apiRead, a.apiSLA},
		{"GET /api/v1/monitors/{id}/escalation", apiRead, a.apiGetEscalation},
		{"PUT /api/v1/monitors/{id}/escalation", apiWrite, a.apiSetEscalation},
		{"DELETE /api/v1/monitors/{id}/escalation", apiWrite, a.apiDeleteEscalation},
		{"GET /api/v1/escalation", apiRead, a.apiGetEscalation},
		{"PUT /api/v1/escalation", apiWrite, a.apiSetEscalation},
		{"DELETE /api/v1/escalation", apiWrite, a.apiDeleteEscalation},
		{"GET /monitors/{id}/sla", pageRead, a.slaPage},
		{"GET /maintenance", pageRead, a.maintenancePage},
		{"POST /maintenance", pageWrite, a.createMaintenanceSubmit},
		{"POST /maintenance/{id}/delete", pageWrite, a.deleteMaintenanceSubmit},
		{"/", public, a.notFoundPage},
	}
}
