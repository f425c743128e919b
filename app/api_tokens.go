package app

import (
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upwatch/upwatch/store"
)

type tokenJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	Scope      string     `json:"scope"`
	Token      string     `json:"token,omitempty"` // only in the answer to a create
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toTokenJSON(t store.APIToken) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Prefix: t.Prefix, CreatedAt: t.CreatedAt.UTC(),
		LastUsedAt: optTime(t.LastUsedAt), ExpiresAt: optTime(t.ExpiresAt), Scope: t.Scope}
}

const maxTokenDays = 3650

// createToken validates a name (and optional lifetime) and stores a new
// token; the token itself is returned once and never again.
func (a *App) createToken(r *http.Request, name string, days int, scope string) (store.APIToken, string, error) {
	var fe FieldErrors
	u := selfFrom(r.Context())
	switch {
	case scope == "" && u.Role == store.RoleViewer:
		scope = store.ScopeRead // all a viewer can have
	case scope == "":
		scope = store.ScopeWrite
	case scope != store.ScopeRead && scope != store.ScopeWrite && scope != store.ScopeMetrics:
		fe.add("scope", "must be read, write or metrics")
	case scope == store.ScopeWrite && u.Role == store.RoleViewer:
		fe.add("scope", "must be read for a viewer")
	}
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		fe.add("name", "is required")
	case n > 100:
		fe.add("name", "must be at most 100 characters")
	}
	if days < 0 || days > maxTokenDays {
		fe.add("expires_in_days", "must be from 1 to %d, or 0 for no expiry", maxTokenDays)
	}
	if len(fe) > 0 {
		return store.APIToken{}, "", fe
	}
	tok, prefix, err := newAPIToken()
	if err != nil {
		return store.APIToken{}, "", err
	}
	var exp time.Time
	if days > 0 {
		exp = a.now().Add(time.Duration(days) * 24 * time.Hour)
	}
	// Stamped with the version this request was authenticated under: a
	// credential that ended meanwhile cannot mint a lasting one.
	t, err := a.st.CreateAPIToken(r.Context(), u.ID, u.CredVersion, name, prefix, scope, hashToken(tok), exp)
	if errors.Is(err, store.ErrNotFound) {
		return t, "", errUnauthorized
	}
	if err != nil {
		return t, "", quotaFields(err)
	}
	return t, tok, nil
}

func (a *App) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name          string `json:"name"`
		ExpiresInDays int    `json:"expires_in_days"`
		Scope         string `json:"scope"` // read or write (default; a viewer's: read)
	}
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	t, tok, err := a.createToken(r, in.Name, in.ExpiresInDays, in.Scope)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j := toTokenJSON(t)
	j.Token = tok
	writeJSON(w, http.StatusCreated, j)
}

func (a *App) apiDeleteToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.DeleteAPIToken(r.Context(), userFrom(r.Context()).ID, id))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writeItems answers a list read as {"items": […]}, each row rendered by
// conv, or the read's error.
func writeItems[T, J any](a *App, w http.ResponseWriter, r *http.Request, list []T, err error, conv func(T) J) {
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items := make([]J, len(list))
	for i, t := range list {
		items[i] = conv(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}
