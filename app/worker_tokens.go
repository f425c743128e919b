package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// Worker tokens are created and revoked by admins, in the API and on the
// Workers page; the token itself is shown once, with the command line that
// uses it.

type workerTokenJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Regions    []string   `json:"regions"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	Token      string     `json:"token,omitempty"`   // only in the answer to a create
	Command    string     `json:"command,omitempty"` // likewise: the worker's command line
}

func toWorkerTokenJSON(t store.WorkerToken) workerTokenJSON {
	return workerTokenJSON{ID: t.ID, Name: t.Name, Regions: t.Regions, Prefix: t.Prefix, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: optTime(t.LastUsedAt), RevokedAt: optTime(t.RevokedAt)}
}

// newWorkerToken makes a random worker token and its display prefix.
func newWorkerToken() (token, prefix string, err error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("worker token: %w", err)
	}
	token = workerTokenPrefix + base64.RawURLEncoding.EncodeToString(buf)
	return token, token[:len(workerTokenPrefix)+6], nil
}

// createWorkerToken validates a name and regions and stores a new token;
// the token itself is returned once and never again.
func (a *App) createWorkerToken(r *http.Request, name string, regions []string) (store.WorkerToken, string, error) {
	var fe FieldErrors
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		fe.add("name", "is required")
	case n > 100:
		fe.add("name", "must be at most 100 characters")
	}
	var clean []string
	for _, rg := range regions {
		rg = strings.ToLower(strings.TrimSpace(rg))
		switch {
		case rg == "":
		case !checker.ValidRegion(rg):
			fe.add("regions", "%q is not a region name (1 to 32 letters, digits or -)", trunc(rg, 40))
		case rg == checker.LocalRegion:
			fe.add("regions", "local is the server's own workers; name the place this worker checks from, e.g. home or eu")
		case !slices.Contains(clean, rg):
			clean = append(clean, rg)
		}
	}
	switch {
	case len(clean) == 0 && !fe.has("regions"):
		fe.add("regions", "name at least one region the worker checks from")
	case len(clean) > maxRegions:
		fe.add("regions", "at most %d regions", maxRegions)
	}
	if len(fe) > 0 {
		return store.WorkerToken{}, "", fe
	}
	tok, prefix, err := newWorkerToken()
	if err != nil {
		return store.WorkerToken{}, "", err
	}
	t, err := a.st.CreateWorkerToken(r.Context(), name, clean, prefix, hashToken(tok), userFrom(r.Context()).ID)
	return t, tok, quotaFields(err)
}

func (fe FieldErrors) has(field string) bool {
	return slices.ContainsFunc(fe, func(e FieldError) bool { return e.Field == field })
}

// serverURL is the address workers reach this server at: BASE_URL, or
// else how this request reached it.
func (a *App) serverURL(r *http.Request) string {
	if a.cfg.BaseURL != "" {
		return a.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// workerCommand is the command line that starts a worker with a token; a
// token for several regions needs --region.
func workerCommand(server, token string, regions []string) string {
	cmd := "upwatch worker --server " + server + " --token " + token
	if len(regions) > 1 {
		cmd += " --region " + regions[0]
	}
	return cmd
}

func (a *App) apiCreateWorkerToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name    string   `json:"name"`
		Regions []string `json:"regions"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	t, tok, err := a.createWorkerToken(r, in.Name, in.Regions)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j := toWorkerTokenJSON(t)
	j.Token, j.Command = tok, workerCommand(a.serverURL(r), tok, t.Regions)
	writeJSON(w, http.StatusCreated, j)
}

// apiRevokeWorkerToken refuses the token from now on: its workers' next
// request answers 401, and a long-poll in progress ends within a second.
func (a *App) apiRevokeWorkerToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.RevokeWorkerToken(r.Context(), id))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// regionList splits what a form field lists: commas or spaces between.
func regionList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
}

func (a *App) createWorkerTokenSubmit(w http.ResponseWriter, r *http.Request) {
	name, regions := r.PostFormValue("worker_token_name"), r.PostFormValue("worker_token_regions")
	t, tok, err := a.createWorkerToken(r, name, regionList(regions))
	var fe FieldErrors
	if errors.As(err, &fe) {
		errs := map[string]string{}
		for field, msg := range fe.Map() {
			errs["worker_token_"+field] = msg
		}
		a.renderWorkers(w, r, http.StatusUnprocessableEntity, views.WorkersPage{TokenName: name, TokenRegions: regions, Errors: errs})
		return
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	// Shown once, on this response only: it is never stored in the clear.
	a.renderWorkers(w, r, http.StatusCreated, views.WorkersPage{NewToken: tok, NewTokenName: t.Name,
		NewTokenCommand: workerCommand(a.serverURL(r), tok, t.Regions)})
}

func (a *App) revokeWorkerTokenSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.RevokeWorkerToken(r.Context(), id))
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/workers?m=worker-token-revoked", http.StatusSeeOther)
}
