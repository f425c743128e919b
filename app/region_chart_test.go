package app

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

// seedRegions stores ten minutes of checks from two regions: local at
// 20 ms, all up; eu at 80 ms with one failure.
func seedRegions(t *testing.T, e *env, id int64) {
	t.Helper()
	now := e.clock.Now().UTC().Truncate(time.Minute)
	var cs []store.Check
	for i := range 10 {
		at := now.Add(-time.Duration(10-i) * time.Minute)
		cs = append(cs,
			store.Check{MonitorID: id, Region: "local", At: at, OK: true, StatusCode: 200, Latency: 20 * time.Millisecond},
			store.Check{MonitorID: id, Region: "eu", At: at, OK: i != 4, StatusCode: 200, Latency: 80 * time.Millisecond})
	}
	if err := e.st.SaveChecks(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRegionHistoryAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m monitorJSON
	if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m","url":"http://127.0.0.1:9/","regions":["local","eu"]}`); r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	} else {
		r.json(t, &m)
	}
	seedRegions(t, e, m.ID)
	base := "/api/v1/monitors/" + itoa(m.ID)

	type latency struct {
		Region string
		Items  []pointJSON
	}
	avg := func(region string) (float64, int64, int64) {
		t.Helper()
		q := "/latency?step=1h&from=" + itoa(e.clock.Now().Add(-time.Hour).Unix())
		if region != "" {
			q += "&region=" + region
		}
		var l latency
		r := e.do(t, "GET", base+q, tok, "")
		r.json(t, &l)
		if r.code != 200 || len(l.Items) == 0 || l.Region != region {
			t.Fatalf("latency %q: %d %s", region, r.code, r.body)
		}
		var sum float64
		var n, up, down int64
		for _, p := range l.Items {
			sum += p.AvgMS * float64(p.Count)
			n += p.Count
			up, down = up+p.Up, down+p.Down
		}
		return sum / float64(n), up, down
	}
	for region, want := range map[string]struct {
		avg      float64
		up, down int64
	}{"": {50, 19, 1}, "local": {20, 10, 0}, "eu": {80, 9, 1}} {
		if a, up, down := avg(region); a != want.avg || up != want.up || down != want.down {
			t.Errorf("latency %q: avg %v, %d up, %d down; want %+v", region, a, up, down, want)
		}
	}

	var ut struct {
		Region string
		Items  []uptimeJSON
	}
	r := e.do(t, "GET", base+"/uptime?windows=24h,7d&region=eu", tok, "")
	r.json(t, &ut)
	if r.code != 200 || ut.Region != "eu" || len(ut.Items) != 2 || ut.Items[0].Up != 9 || ut.Items[0].Down != 1 || *ut.Items[0].Uptime != 90 {
		t.Errorf("uptime eu: %d %s", r.code, r.body)
	}
	r = e.do(t, "GET", base+"/uptime?region=local&from="+itoa(e.clock.Now().Add(-time.Hour).Unix()), tok, "")
	r.json(t, &ut)
	if r.code != 200 || len(ut.Items) != 1 || ut.Items[0].Up != 10 || ut.Items[0].Down != 0 {
		t.Errorf("uptime local: %d %s", r.code, r.body)
	}
	ut.Region = ""
	r = e.do(t, "GET", base+"/uptime?region=", tok, "")
	r.json(t, &ut)
	if r.code != 200 || ut.Region != "" || ut.Items[0].Up != 19 || ut.Items[0].Down != 1 {
		t.Errorf("uptime, empty region: %d %s", r.code, r.body)
	}

	for _, q := range []string{"/latency?region=us", "/uptime?region=us", "/latency?region=EU", "/uptime?windows=24h&region=" + url.QueryEscape("<b>")} {
		r := e.do(t, "GET", base+q, tok, "")
		var p problem
		r.json(t, &p)
		if r.code != 422 || p.Field != "region" || len(p.Errors) != 1 || p.Errors[0].Field != "region" || !strings.Contains(p.Detail, "local, eu") {
			t.Errorf("%s: %d %s", q, r.code, r.body)
		}
	}
	// A monitor without regions of its own has the server's.
	var plain monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"p","url":"http://127.0.0.1:9/"}`).json(t, &plain)
	if r := e.do(t, "GET", "/api/v1/monitors/"+itoa(plain.ID)+"/latency?region=local", tok, ""); r.code != 200 {
		t.Errorf("local of a monitor without regions: %d %s", r.code, r.body)
	}
	if r := e.do(t, "GET", "/api/v1/monitors/"+itoa(plain.ID)+"/latency?region=eu", tok, ""); r.code != 422 {
		t.Errorf("eu of a monitor without regions: %d %s", r.code, r.body)
	}
}
