package views

import (
	"net/url"
	"strconv"
	"time"

	"github.com/a-h/templ"
)

// SLAPage is a month's service level of one monitor, as words.
type SLAPage struct {
	Page
	MonitorID                   int64
	Monitor, Month              string
	From, To                    time.Time
	Uptime, Downtime, Incidents string // "99.9521%", "21 min 3 s", "2"
	Longest, MTTR, Maintenance  string
}

func slaURL(id int64) templ.SafeURL {
	return templ.SafeURL("/monitors/" + strconv.FormatInt(id, 10) + "/sla")
}

func slaCSVURL(id int64, month string) templ.SafeURL {
	return templ.SafeURL("/api/v1/monitors/" + strconv.FormatInt(id, 10) + "/sla?format=csv&month=" + url.QueryEscape(month))
}
