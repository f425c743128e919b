package views

import (
	"strings"
	"testing"
	"time"
)

func sampleWorkers() []WorkerRow {
	return []WorkerRow{
		{Name: "server-web1-4242", Region: "local", Version: "v1.4.0", Host: "web1", Alive: true,
			InFlight: 3, Concurrency: 64, ChecksPerMinute: 412, LastSeen: testNow.Add(-2 * time.Second), StartedAt: testNow.Add(-26 * time.Hour)},
		{Name: "worker-fra-7", Region: "eu", Version: "v1.3.2", Host: "fra", Alive: false,
			Concurrency: 16, ChecksPerMinute: 0, LastSeen: testNow.Add(-4 * time.Minute), StartedAt: testNow.Add(-3 * time.Hour)},
	}
}

func TestWorkersPage(t *testing.T) {
	out := render(t, Workers(WorkersPage{Page: testPage("Workers", "ada@example.com"), Workers: sampleWorkers()}))
	doc := parse(t, out)
	checkAccessible(t, doc)
	rows := find(doc, "tr")
	if len(rows) != 3 { // head + 2
		t.Fatalf("%d table rows, want 3", len(rows))
	}
	online, offline := textOf(rows[1]), textOf(rows[2])
	for _, w := range []string{"Online", "server-web1-4242", "web1", "local", "v1.4.0", "3 / 64", "412", "just now", "26 h ago"} {
		if !strings.Contains(online, w) {
			t.Errorf("alive row %q lacks %q", online, w)
		}
	}
	for _, w := range []string{"Offline", "worker-fra-7", "eu", "v1.3.2", "0 / 16", "4 min ago", "3 h ago"} {
		if !strings.Contains(offline, w) {
			t.Errorf("dead row %q lacks %q", offline, w)
		}
	}
	if c, _ := attr(rows[1], "class"); c != "worker-online" {
		t.Errorf("alive row class %q", c)
	}
	if c, _ := attr(rows[2], "class"); c != "worker-offline" {
		t.Errorf("dead row class %q", c)
	}
	if !strings.Contains(out, "2 workers in 2 regions · 1 offline") {
		t.Error("summary missing")
	}
	if len(find(doc, "a", "href", "/workers", "aria-current", "page")) != 1 {
		t.Error("nav does not mark Workers as the current page")
	}
	if !strings.Contains(out, "upwatch worker --region eu") {
		t.Error("no hint on adding a worker")
	}
}

func TestWorkersEmpty(t *testing.T) {
	out := render(t, Workers(WorkersPage{Page: testPage("Workers", "ada@example.com")}))
	doc := parse(t, out)
	checkAccessible(t, doc)
	if len(find(doc, "table")) != 0 {
		t.Error("empty page renders a table")
	}
	for _, w := range []string{"No workers are reporting", "REDIS_URL", "upwatch worker --region eu", "WORKERS=0"} {
		if !strings.Contains(out, w) {
			t.Errorf("empty state lacks %q", w)
		}
	}
}

// Everything in a heartbeat comes from a process with Redis access: it is
// shown as text.
func TestWorkersHostile(t *testing.T) {
	for _, name := range []string{hostileImg, hostileScript} {
		ws := sampleWorkers()
		for i := range ws {
			ws[i].Name, ws[i].Region, ws[i].Version, ws[i].Host = name, name, name, name
		}
		out := render(t, Workers(WorkersPage{Page: testPage("Workers", "ada@example.com"), Workers: ws}))
		if strings.Contains(out, "<img") || strings.Contains(out, "<script>") {
			t.Fatalf("hostile worker fields rendered as markup:\n%s", out)
		}
		if got := strings.Count(out, templEscape(name)); got != 8 {
			t.Errorf("%q shown escaped %d times, want 8 (4 fields × 2 workers)", name, got)
		}
	}
}
