package views

import (
	"strings"
	"testing"
	"time"
)

func TestWorkerTokensCard(t *testing.T) {
	p := WorkersPage{Page: testPage("Workers", "ada@example.com"), Workers: sampleWorkers(), ServerURL: "https://up.example",
		Admin: true, NewToken: "upww_secret", NewTokenName: "Pi", NewTokenCommand: "upwatch worker --server https://up.example --token upww_secret",
		Tokens: []WorkerTokenRow{
			{ID: 2, Name: "Pi", Regions: []string{"home"}, Prefix: "upww_secret", CreatedAt: testNow.Add(-time.Minute)},
			{ID: 1, Name: "old vps", Regions: []string{"eu", "us"}, Prefix: "upww_abcdef", CreatedAt: testNow.Add(-48 * time.Hour),
				LastUsedAt: testNow.Add(-3 * time.Hour), RevokedAt: testNow.Add(-time.Hour)},
		}}
	out := render(t, Workers(p))
	doc := parse(t, out)
	checkAccessible(t, doc)
	if len(find(doc, "button", "data-copy", "new-worker-command")) != 1 || len(find(doc, "button", "data-copy", "new-worker-token")) != 1 {
		t.Error("no copy buttons for the new token and its command")
	}
	if len(find(doc, "input", "id", "new-worker-command", "value", p.NewTokenCommand)) != 1 {
		t.Error("the command line is not shown")
	}
	// One revoke form: the revoked token has none.
	if len(find(doc, "form", "action", "/workers/tokens/2/revoke")) != 1 || len(find(doc, "form", "action", "/workers/tokens/1/revoke")) != 0 {
		t.Error("revoke forms wrong")
	}
	for _, w := range []string{"Worker tokens", "copy it now", "Revoked", "3 h ago", "upwatch worker --server https://up.example --token upww_…", "REDIS_URL"} {
		if !strings.Contains(out, w) {
			t.Errorf("page lacks %q", w)
		}
	}

	p.Admin = false
	if out := render(t, Workers(p)); strings.Contains(out, `id="worker-tokens"`) {
		t.Error("a user sees the worker tokens card")
	}

	// Names are shown as text.
	p.Admin, p.NewToken = true, ""
	p.Tokens[0].Name, p.Tokens[0].Regions = hostileImg, []string{hostileScript}
	if out := render(t, Workers(p)); strings.Contains(out, "<img") || strings.Contains(out, "<script>") {
		t.Fatalf("hostile token fields rendered as markup:\n%s", out)
	}
}
