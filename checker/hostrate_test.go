package checker

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
)

func TestHostKey(t *testing.T) {
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{URL: "https://Example.COM:8443/x"}, "example.com"},
		{Spec{Type: TypeHTTP, URL: "http://[::1]:8080/"}, "::1"},
		{Spec{Type: TypeTCP, Settings: json.RawMessage(`{"host":"NAS.lan","port":22}`)}, "nas.lan"},
		{Spec{Type: TypePing, Settings: json.RawMessage(`{"host":"192.168.1.1"}`)}, "192.168.1.1"},
		{Spec{Type: TypeTLS, Settings: json.RawMessage(`{"host":"example.org.","port":443}`)}, "example.org"},
		{Spec{Type: TypeDNS, Settings: json.RawMessage(`{"name":"x.org","resolver":"9.9.9.9:53"}`)}, "9.9.9.9"},
		{Spec{Type: TypeDNS, Settings: json.RawMessage(`{"name":"x.org"}`)}, ""},
		{Spec{Type: TypePush}, ""},
	} {
		if got := hostKey(c.spec); got != c.want {
			t.Errorf("hostKey(%s %s %s) = %q, want %q", c.spec.Type, c.spec.URL, c.spec.Settings, got, c.want)
		}
	}
}

// TestScheduleHostRate drives the schedule by hand: 50 monitors at 1 s on
// one host under a cap of 10/s get 10 checks a second between them; 5 on
// another host get all theirs; nothing is lost silently.
func TestScheduleHostRate(t *testing.T) {
	s := newCappedSchedule(10)
	t0 := time.Unix(1_000_000, 0)
	for i := 1; i <= 55; i++ {
		host := "busy.example"
		if i > 50 {
			host = "calm.example"
		}
		s.put(Spec{MonitorID: int64(i), URL: fmt.Sprintf("http://%s/%d", host, i)}, []string{LocalRegion}, time.Second, t0)
	}
	perSecond := map[string][]int{}
	var jobs []Job
	labels := map[int64]int64{}
	const seconds = 10
	for now := t0; now.Before(t0.Add(seconds * time.Second)); now = now.Add(schedQuantum) {
		jobs = s.due(now, 0, jobs[:0])
		sec := int(now.Sub(t0) / time.Second)
		for _, j := range jobs {
			host := strings.Split(j.Spec.URL, "/")[2]
			if perSecond[host] == nil {
				perSecond[host] = make([]int, seconds)
			}
			perSecond[host][sec]++
			if j.Due <= labels[j.Spec.MonitorID] {
				t.Fatalf("monitor %d: label %d not after %d", j.Spec.MonitorID, j.Due, labels[j.Spec.MonitorID])
			}
			labels[j.Spec.MonitorID] = j.Due
			if j.TTL < 900 {
				t.Errorf("monitor %d: a job with %d ms to live; a deferred run gets a whole interval", j.Spec.MonitorID, j.TTL)
			}
		}
	}
	busy, calm := perSecond["busy.example"], perSecond["calm.example"]
	if busy[0] > 20 {
		t.Errorf("busy host, first second: %d checks, want at most 20 (a burst of 10, then 10/s)", busy[0])
	}
	total := 0
	for sec := 1; sec < seconds; sec++ {
		total += busy[sec]
		if busy[sec] > 11 || busy[sec] < 9 {
			t.Errorf("busy host, second %d: %d checks, want about 10", sec, busy[sec])
		}
		if calm[sec] != 5 {
			t.Errorf("calm host, second %d: %d checks, want all 5", sec, calm[sec])
		}
	}
	var limited int64
	for _, sl := range s.byID {
		limited += sl.limited
	}
	// 50 due a second, about 10 sent: the rest are counted as skipped.
	if limited < 300 {
		t.Errorf("skipped runs counted: %d, want about %d", limited, 50*seconds-total-busy[0])
	}
	if len(s.rate.over) != 1 || s.rate.over[0] != "busy.example" {
		t.Errorf("hosts reported over the cap: %v", s.rate.over)
	}
	// The last monitor of a host gone, its bucket goes too.
	for i := 51; i <= 55; i++ {
		s.remove(int64(i))
	}
	if _, ok := s.rate.hosts["calm.example"]; ok || len(s.rate.hosts) != 1 {
		t.Errorf("buckets left: %v", s.rate.hosts)
	}
}

// TestHostRateEndToEnd: 50 monitors at 1 s on one 127.0.0.1 target under
// HOST_RATE=10 reach it about 10 times a second, not 50; 5 monitors on
// another host name (localhost) are unaffected.
func TestHostRateEndToEnd(t *testing.T) {
	var busyHits, calmHits atomic.Int64
	busy := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { busyHits.Add(1) }))
	defer busy.Close()
	calm := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calmHits.Add(1) }))
	defer calm.Close()
	calmURL := strings.Replace(calm.URL, "127.0.0.1", "localhost", 1)

	st, u := openStore(t)
	var ids []int64
	for i := 0; i < 50; i++ {
		ids = append(ids, addMonitor(t, st, u, fmt.Sprint("busy", i), fmt.Sprintf("%s/%d", busy.URL, i), time.Second, time.Second, 2).ID)
	}
	for i := 0; i < 5; i++ {
		addMonitor(t, st, u, fmt.Sprint("calm", i), fmt.Sprintf("%s/%d", calmURL, i), time.Second, time.Second, 2)
	}
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: 16, Logger: quietLogger(), HostRate: 10})
	startChecker(t, c)
	time.Sleep(1500 * time.Millisecond) // start-up runs are spread over the first interval
	b0, c0 := busyHits.Load(), calmHits.Load()
	const window = 3 * time.Second
	time.Sleep(window)
	b, cl := busyHits.Load()-b0, calmHits.Load()-c0
	t.Logf("over %v: 127.0.0.1 got %d requests (%.1f/s), localhost %d (%.1f/s)", window, b, float64(b)/window.Seconds(), cl, float64(cl)/window.Seconds())
	if b < 20 || b > 40 {
		t.Errorf("capped host: %d requests in %v, want about 30 (10/s), not 150", b, window)
	}
	if cl < 12 || cl > 18 {
		t.Errorf("other host: %d requests in %v, want about 15 (5/s)", cl, window)
	}
	var limited int64
	for _, id := range ids {
		limited += c.RateLimited(id)
	}
	if limited == 0 {
		t.Error("no skipped run was counted")
	}
}
