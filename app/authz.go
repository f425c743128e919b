package app

import (
	"context"
	"net/http"

	"github.com/upwatch/upwatch/store"
)

// access is who may use a route: the one authorization rule, applied by
// guard to every route of the table (routes.go), and what the
// authorization matrix test reads.
type access uint8

const (
	public        access = iota // anyone: sign-in, setup, push pings (the token is the credential), health, assets
	workerTok                   // an HTTPS worker's token, and nothing else
	scraper                     // /metrics: a network in METRICS_ALLOW, or any bearer credential (a metrics token too)
	apiRead                     // API, reads: every signed-in user; a viewer reads their owner's objects
	apiWrite                    // API, changes: members and admins with a session, a JWT or a write token
	apiSelf                     // API, reads the caller's own account: everyone signed in, read tokens too
	apiSelfWrite                // API, changes the caller's own account (password, tokens): viewers too, not read tokens
	apiAdmin                    // API, admins only (a read token only for GET)
	pageRead                    // dashboard pages, as apiRead
	pageWrite                   // dashboard forms that change something, as apiWrite
	pageSelf                    // the caller's own settings page
	pageSelfWrite               // forms on the caller's own account
	pageAdmin                   // admin forms
)

func (k access) page() bool { return k >= pageRead }

// writes tells whether a request through a route of this access changes
// something: read tokens are refused on those.
func (k access) writes(method string) bool {
	switch k {
	case apiWrite, apiSelfWrite, pageWrite, pageSelfWrite:
		return true
	case apiAdmin, pageAdmin:
		return method != http.MethodGet && method != http.MethodHead
	}
	return false
}

// route is one entry of the route table.
type route struct {
	pattern string
	access  access
	h       http.HandlerFunc
}

var (
	errReadOnlyToken = &apiError{Status: http.StatusForbidden, Title: "Forbidden", Detail: "this API token is read-only (scope read)"}
	errViewer        = &apiError{Status: http.StatusForbidden, Title: "Forbidden", Detail: "a viewer can look but not change anything"}
	errNotAdmin      = &apiError{Status: http.StatusForbidden, Title: "Forbidden", Detail: "only an admin can do this"}
	errMetricsToken  = &apiError{Status: http.StatusForbidden, Title: "Forbidden", Detail: "a metrics token reads /metrics and nothing else"}
)

const (
	selfKey  ctxKey = 2 // the signed-in user, when userKey holds whose objects they read
	scopeKey ctxKey = 3 // the API token's scope; absent: full (session, JWT)
)

// selfFrom is the signed-in user themself. It differs from userFrom only
// for a viewer on a read route, where userFrom is the account they read.
func selfFrom(ctx context.Context) store.User {
	if u, ok := ctx.Value(selfKey).(store.User); ok {
		return u
	}
	return userFrom(ctx)
}

func withScope(ctx context.Context, scope string) context.Context {
	return context.WithValue(ctx, scopeKey, scope)
}

func scopeFrom(ctx context.Context) string {
	s, _ := ctx.Value(scopeKey).(string)
	return s
}

// guard wraps a route's handler with the authentication and the
// authorization its access asks for.
func (a *App) guard(rt route) http.HandlerFunc {
	switch rt.access {
	case public:
		return rt.h
	case workerTok, scraper:
		return rt.h // the handler authenticates (requireWorker, metricsEndpoint)
	}
	check := func(w http.ResponseWriter, r *http.Request) {
		u := userFrom(r.Context())
		fail := func(err *apiError) {
			if rt.access.page() {
				a.pageError(w, r, err)
			} else {
				a.writeError(w, r, err)
			}
		}
		switch {
		case scopeFrom(r.Context()) == store.ScopeMetrics:
			fail(errMetricsToken)
			return
		case (rt.access == apiAdmin || rt.access == pageAdmin) && u.Role != store.RoleAdmin:
			fail(errNotAdmin)
			return
		case rt.access.writes(r.Method) && scopeFrom(r.Context()) == store.ScopeRead:
			fail(errReadOnlyToken)
			return
		case (rt.access == apiWrite || rt.access == pageWrite) && u.Role == store.RoleViewer:
			fail(errViewer)
			return
		}
		if (rt.access == apiRead || rt.access == pageRead) && u.Role == store.RoleViewer {
			// A viewer reads their owner's monitors: the handlers ask
			// for the owner's objects, as they would for the owner. No
			// admin right comes with it.
			view := store.User{ID: u.OwnerID, Email: u.Email, Role: store.RoleViewer, CredVersion: u.CredVersion}
			ctx := context.WithValue(r.Context(), selfKey, u)
			r = r.WithContext(withUser(ctx, view))
		}
		rt.h(w, r)
	}
	if rt.access.page() {
		return a.requirePage(check)
	}
	return a.requireAPI(check)
}
