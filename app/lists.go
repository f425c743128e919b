package app

import (
	"net/http"
	"sort"
	"strconv"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

// The API's list endpoints, each paged by ?limit= and ?cursor= (paging.go).
// Every list names itself in its cursors.

func (a *App) apiListMonitors(w http.ResponseWriter, r *http.Request) {
	p, err := a.pageParams(r, "monitors")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ms, next, err := a.st.MonitorsPage(r.Context(), userFrom(r.Context()).ID, p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, err := a.monitorsJSON(r.Context(), ms...)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writePage(w, "monitors", items, next)
}

// apiListChecks pages a monitor's checks, newest first; ?limit= kept its
// meaning (the first page's size).
func (a *App) apiListChecks(w http.ResponseWriter, r *http.Request) {
	m, err := a.ownedMonitor(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	listPage(a, w, r, "checks:"+strconv.FormatInt(m.ID, 10),
		func(p store.Page) ([]store.Check, *store.Key, error) { return a.st.ChecksPage(r.Context(), m.ID, p) },
		func(c store.Check) *checkJSON { return toCheckJSON(c, true) })
}

// incidentFilter reads status; the monitor comes from the caller.
func incidentFilter(r *http.Request) (store.IncidentFilter, error) {
	f := store.IncidentFilter{Status: r.URL.Query().Get("status")}
	if f.Status != "" && f.Status != "open" && f.Status != "resolved" {
		return f, badRequest("status", "must be open or resolved")
	}
	return f, nil
}

// writeIncidents pages incidents selected by f; the cursor is bound to the
// selection, so it cannot be carried to another filter.
func (a *App) writeIncidents(w http.ResponseWriter, r *http.Request, f store.IncidentFilter) {
	list := "incidents:" + strconv.FormatInt(f.MonitorID, 10) + ":" + f.Status
	listPage(a, w, r, list,
		func(p store.Page) ([]store.Incident, *store.Key, error) {
			return a.st.IncidentsPage(r.Context(), userFrom(r.Context()).ID, f, p)
		}, a.toIncidentJSON)
}

func (a *App) apiIncidents(w http.ResponseWriter, r *http.Request) {
	f, err := incidentFilter(r)
	if err == nil {
		if s := r.URL.Query().Get("monitor_id"); s != "" {
			id, perr := strconv.ParseInt(s, 10, 64)
			if perr != nil || id <= 0 {
				err = badRequest("monitor_id", "must be a monitor id")
			}
			f.MonitorID = id
		}
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeIncidents(w, r, f)
}

func (a *App) apiMonitorIncidents(w http.ResponseWriter, r *http.Request) {
	m, err := a.ownedMonitor(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	f, err := incidentFilter(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	f.MonitorID = m.ID
	a.writeIncidents(w, r, f)
}

func (a *App) apiListChannels(w http.ResponseWriter, r *http.Request) {
	listPage(a, w, r, "channels",
		func(p store.Page) ([]store.Channel, *store.Key, error) {
			return a.st.ChannelsPage(r.Context(), userFrom(r.Context()).ID, p)
		}, toChannelJSON)
}

// apiDeliveries pages a channel's log, newest first, each delivery with its
// attempts.
func (a *App) apiDeliveries(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	list := "deliveries:" + strconv.FormatInt(id, 10)
	p, err := a.pageParams(r, list)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items, next, err := a.deliveriesPage(r, userFrom(r.Context()).ID, id, p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writePage(w, list, items, next)
}

func (a *App) deliveriesPage(r *http.Request, userID, channelID int64, p store.Page) ([]deliveryJSON, *store.Key, error) {
	ds, next, err := a.st.DeliveriesPage(r.Context(), userID, channelID, p)
	if err != nil {
		return nil, nil, storeErr(err)
	}
	items, err := a.deliveryJSONs(r.Context(), userID, ds)
	return items, next, err
}

func (a *App) apiListTokens(w http.ResponseWriter, r *http.Request) {
	listPage(a, w, r, "tokens",
		func(p store.Page) ([]store.APIToken, *store.Key, error) {
			return a.st.APITokensPage(r.Context(), userFrom(r.Context()).ID, p)
		}, toTokenJSON)
}

func (a *App) apiListWorkerTokens(w http.ResponseWriter, r *http.Request) {
	listPage(a, w, r, "worker-tokens",
		func(p store.Page) ([]store.WorkerToken, *store.Key, error) {
			return a.st.WorkerTokensPage(r.Context(), p)
		},
		toWorkerTokenJSON)
}

// apiListUsers pages every account by id, with their quotas (admins).
func (a *App) apiListUsers(w http.ResponseWriter, r *http.Request) {
	p, err := a.pageParams(r, "users")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	us, next, err := a.st.UsersPage(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items := make([]userJSON, len(us))
	for i, u := range us {
		if items[i], err = a.userWithQuotas(r.Context(), u); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	a.writePage(w, "users", items, next)
}

// apiWorkers pages the workers by name (their heartbeats live in the
// queue, a few per region: the page is cut in memory).
func (a *App) apiWorkers(w http.ResponseWriter, r *http.Request) {
	p, err := a.pageParams(r, "workers")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	ws, err := a.workers(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Name < ws[j].Name })
	if p.After != nil {
		i := sort.Search(len(ws), func(i int) bool { return ws[i].Name > p.After.Str })
		ws = ws[i:]
	}
	var next *store.Key
	if len(ws) > p.Limit {
		ws = ws[:p.Limit]
		next = &store.Key{Str: ws[len(ws)-1].Name}
	}
	items := make([]workerJSON, len(ws))
	for i, x := range ws {
		items[i] = toWorkerJSON(x)
	}
	a.writePage(w, "workers", items, next)
}

func toWorkerJSON(x checker.WorkerInfo) workerJSON {
	return workerJSON{Name: x.Name, Region: x.Region, Version: x.Version, Host: x.Host,
		StartedAt: x.StartedAt.UTC(), LastSeen: x.LastSeen.UTC(), Alive: x.Alive,
		InFlight: x.InFlight, ChecksPerMinute: x.ChecksPerMinute, Concurrency: x.Concurrency}
}
