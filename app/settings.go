package app

import (
	"errors"
	"net/http"
	"strings"

	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// currentSession is the hash of this request's session cookie, if any.
func currentSession(r *http.Request) []byte {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		return hashToken(c.Value)
	}
	return nil
}

// settingsPage renders the settings page; s carries form state to show.
func (a *App) settingsPage(w http.ResponseWriter, r *http.Request, status int, s views.SettingsPage) {
	ctx := r.Context()
	u := userFrom(ctx)
	s.Page = a.page(r, "Settings")
	s.Admin = u.Admin
	s.Viewer = u.Role == store.RoleViewer
	sessions, err := a.st.ListSessions(ctx, u.ID)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	cur := ""
	if h := currentSession(r); h != nil {
		cur = store.SessionID(h)
	}
	for _, se := range sessions {
		s.Sessions = append(s.Sessions, views.SessionRow{ID: se.ID, CreatedAt: se.CreatedAt, ExpiresAt: se.ExpiresAt,
			LastSeenAt: se.LastSeenAt, UserAgent: se.UserAgent, Current: se.ID == cur})
	}
	tokens, next, err := a.st.APITokensPage(ctx, u.ID, store.Page{Limit: 100, After: a.pageCursor(r, "tokens", "page-tokens")})
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	s.TokensPager = a.pager(r, "/settings", "#tokens", "tokens", "page-tokens", next)
	for _, t := range tokens {
		s.Tokens = append(s.Tokens, views.TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scope: t.Scope, CreatedAt: t.CreatedAt,
			LastUsedAt: t.LastUsedAt, ExpiresAt: t.ExpiresAt})
	}
	if u.Admin {
		users, next, err := a.st.UsersPage(ctx, store.Page{Limit: 100, After: a.pageCursor(r, "users", "page-users")})
		if err != nil {
			a.pageError(w, r, err)
			return
		}
		s.UsersPager = a.pager(r, "/settings", "#users", "users", "page-users", next)
		emails := map[int64]string{}
		for _, x := range users {
			emails[x.ID] = x.Email
		}
		for _, x := range users {
			if _, ok := emails[x.OwnerID]; x.OwnerID != 0 && !ok { // a viewer's owner on another page
				if o, err := a.st.UserByID(ctx, x.OwnerID); err == nil {
					emails[o.ID] = o.Email
				}
			}
		}
		for _, x := range users {
			s.Users = append(s.Users, views.UserRow{ID: x.ID, Email: x.Email, Admin: x.Admin, Disabled: x.Disabled,
				Role: x.Role, OwnerEmail: emails[x.OwnerID], Self: x.ID == u.ID, CreatedAt: x.CreatedAt})
		}
	}
	a.render(w, r, status, views.Settings(s))
}

func (a *App) settingsGet(w http.ResponseWriter, r *http.Request) {
	a.settingsPage(w, r, http.StatusOK, views.SettingsPage{})
}

// formErrors renders the settings page again with field errors, or fails.
func (a *App) settingsErrors(w http.ResponseWriter, r *http.Request, err error, s views.SettingsPage) {
	var fe FieldErrors
	if !errors.As(err, &fe) {
		a.pageError(w, r, err)
		return
	}
	s.Errors = fe.Map()
	a.settingsPage(w, r, http.StatusUnprocessableEntity, s)
}

// changePassword checks the current password and ends every other
// credential of the user: sessions, API tokens, JWTs and live feeds.
func (a *App) changePassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	cur, next, confirm := r.PostFormValue("current_password"), r.PostFormValue("new_password"), r.PostFormValue("new_password_confirm")
	err := a.checkCurrentPassword(r, w, u, cur)
	var ae *apiError
	switch {
	case errors.Is(err, errBadLogin):
		a.settingsErrors(w, r, FieldErrors{{Field: "current_password", Message: "is not your current password"}}, views.SettingsPage{})
		return
	case errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests:
		a.settingsErrors(w, r, FieldErrors{{Field: "current_password", Message: "was wrong too often: try again in " +
			w.Header().Get("Retry-After") + " s"}}, views.SettingsPage{})
		return
	case err != nil:
		a.pageError(w, r, err)
		return
	}
	if msg := checkPassword(next); msg != "" {
		a.settingsErrors(w, r, FieldErrors{{Field: "new_password", Message: msg}}, views.SettingsPage{})
		return
	}
	if next != confirm {
		a.settingsErrors(w, r, FieldErrors{{Field: "new_password_confirm", Message: "does not match the new password"}}, views.SettingsPage{})
		return
	}
	hash, err := a.hash.Hash(ctx, next)
	keep := currentSession(r)
	if err == nil {
		err = a.st.ChangePassword(ctx, u.ID, hash, keep)
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	a.credentialsEnded(u.ID, keep)
	http.Redirect(w, r, "/settings?m=password", http.StatusSeeOther)
}

func (a *App) revokeSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.st.DeleteSessionByID(r.Context(), userFrom(r.Context()).ID, id); err != nil {
		a.pageError(w, r, storeErr(err))
		return
	}
	a.hub.RevokeSessionID(id)
	if h := currentSession(r); h != nil && store.SessionID(h) == id {
		a.endSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/settings?m=session-revoked", http.StatusSeeOther)
}

func (a *App) createTokenSubmit(w http.ResponseWriter, r *http.Request) {
	name, scope := r.PostFormValue("token_name"), r.PostFormValue("token_scope")
	_, tok, err := a.createToken(r, name, 0, scope)
	if err != nil {
		var fe FieldErrors
		if errors.As(err, &fe) {
			for i := range fe {
				fe[i].Field = "token_" + strings.TrimPrefix(fe[i].Field, "token_")
			}
			err = fe
		}
		a.settingsErrors(w, r, err, views.SettingsPage{TokenName: name})
		return
	}
	// Shown once, on this response only: it is never stored in the clear.
	a.settingsPage(w, r, http.StatusCreated, views.SettingsPage{NewToken: tok})
}

func (a *App) revokeTokenSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.DeleteAPIToken(r.Context(), userFrom(r.Context()).ID, id))
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings?m=token-revoked", http.StatusSeeOther)
}

func (a *App) createUserSubmit(w http.ResponseWriter, r *http.Request) {
	email, password, admin := r.PostFormValue("user_email"), r.PostFormValue("user_password"), r.PostFormValue("user_admin") == "on"
	role := r.PostFormValue("user_role")
	form := views.SettingsPage{NewUserEmail: email, NewUserAdmin: admin, NewUserRole: role}
	norm, fe := checkCredentials(email, password)
	role, owner, rfe := roleInput(role, admin, 0, userFrom(r.Context()))
	if fe = append(fe, rfe...); len(fe) > 0 {
		for i := range fe {
			fe[i].Field = "user_" + fe[i].Field
		}
		a.settingsErrors(w, r, fe, form)
		return
	}
	hash, err := a.hash.Hash(r.Context(), password)
	if err == nil {
		_, err = a.st.CreateUserWithRole(r.Context(), norm, hash, role, owner)
	}
	if errors.Is(err, store.ErrConflict) {
		a.settingsErrors(w, r, FieldErrors{{Field: "user_email", Message: "is already registered"}}, form)
		return
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/settings?m=user-created#users", http.StatusSeeOther)
}

// setRoleSubmit changes another user's role from the users list; a new
// viewer reads the monitors of the admin making the change.
func (a *App) setRoleSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := a.otherUser(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	role, owner, fe := roleInput(r.PostFormValue("role"), false, 0, userFrom(r.Context()))
	if len(fe) > 0 {
		a.pageError(w, r, &apiError{Status: http.StatusUnprocessableEntity, Detail: "Role " + fe[0].Message + "."})
		return
	}
	if err := a.st.SetUserRole(r.Context(), id, role, owner); err != nil {
		a.pageError(w, r, storeErr(err))
		return
	}
	a.credentialsEnded(id, nil)
	http.Redirect(w, r, "/settings?m=role-changed#users", http.StatusSeeOther)
}

// otherUser is the {id} of a user-admin form; an admin cannot lock
// themselves out this way.
func (a *App) otherUser(r *http.Request) (int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	if id == userFrom(r.Context()).ID {
		return 0, &apiError{Status: http.StatusBadRequest, Detail: "Use the forms above for your own account."}
	}
	if _, err := a.st.UserByID(r.Context(), id); err != nil {
		return 0, storeErr(err)
	}
	return id, nil
}

func (a *App) disableUserSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := a.otherUser(r)
	disabled := r.PostFormValue("disabled") == "true"
	if err == nil {
		err = a.st.SetUserDisabled(r.Context(), id, disabled)
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	a.credentialsEnded(id, nil)
	http.Redirect(w, r, "/settings?m=user-updated#users", http.StatusSeeOther)
}

func (a *App) resetPasswordSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := a.otherUser(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	password := r.PostFormValue("password")
	if msg := checkPassword(password); msg != "" {
		a.settingsErrors(w, r, FieldErrors{{Field: "user_password", Message: "new password " + msg}}, views.SettingsPage{})
		return
	}
	hash, err := a.hash.Hash(r.Context(), password)
	if err == nil {
		err = a.st.SetPassword(r.Context(), id, hash)
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	a.credentialsEnded(id, nil)
	http.Redirect(w, r, "/settings?m=user-updated#users", http.StatusSeeOther)
}
