package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/upwatch/upwatch/store"
)

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type userJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Admin     bool      `json:"admin"`
	Role      string    `json:"role"`
	OwnerID   int64     `json:"owner_id,omitempty"` // a viewer's: whose monitors they read
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	// Quotas and the minimum interval: in GET /api/v1/me and the admin's
	// user endpoints (limits.go).
	Quotas      map[string]quotaJSON `json:"quotas,omitempty"`
	MinInterval *int                 `json:"min_interval_seconds,omitempty"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Admin: u.Admin, Role: u.Role, OwnerID: u.OwnerID, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC()}
}

var errSignupClosed = &apiError{Status: http.StatusForbidden, Title: "Signup closed",
	Detail: "an account already exists; ask an admin to create yours"}

// signup creates the first (admin) account; afterwards it is closed.
func (a *App) signup(ctx context.Context, email, password string) (store.User, error) {
	email, fe := checkCredentials(email, password)
	if len(fe) > 0 {
		return store.User{}, fe
	}
	if n, err := a.st.CountUsers(ctx); err != nil {
		return store.User{}, err
	} else if n > 0 {
		return store.User{}, errSignupClosed
	}
	hash, err := a.hash.Hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	u, err := a.st.CreateFirstUser(ctx, email, hash)
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, errSignupClosed
	}
	return u, err
}

// credentialsToToken reads email and password, checks them with auth and
// answers with an API token (and the user, for a signup).
func (a *App) credentialsToToken(w http.ResponseWriter, r *http.Request, status int, withUser bool,
	auth func(ctx context.Context, email, password string) (store.User, error)) {
	var in credentials
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := auth(r.Context(), in.Email, in.Password)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	tok, exp, err := a.issueToken(u)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := map[string]any{"token": tok, "expires_at": exp}
	if withUser {
		out["user"] = toUserJSON(u)
	}
	writeJSON(w, status, out)
}

func (a *App) apiSignup(w http.ResponseWriter, r *http.Request) {
	a.credentialsToToken(w, r, http.StatusCreated, true, a.signup)
}

var errBadLogin = &apiError{Status: http.StatusUnauthorized, Title: "Unauthorized", Detail: "wrong email or password"}

// authenticate checks credentials; every failure looks the same to the caller.
func (a *App) authenticate(ctx context.Context, email, password string) (store.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := a.st.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	ok, verr := a.hash.Verify(ctx, password, u.PasswordHash)
	if verr != nil {
		return store.User{}, verr
	}
	if !ok || err != nil || u.Disabled {
		return store.User{}, errBadLogin
	}
	return u, nil
}

func (a *App) apiLogin(w http.ResponseWriter, r *http.Request) {
	a.credentialsToToken(w, r, http.StatusOK, false, func(_ context.Context, email, password string) (store.User, error) {
		return a.limitedAuthenticate(r, w, email, password)
	})
}

type newUserInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Admin    bool   `json:"admin"` // the same as "role":"admin"
	Role     string `json:"role"`  // admin, member (default) or viewer
	OwnerID  int64  `json:"owner_id"`
}

// roleInput checks a role and, for a viewer, whose monitors they read
// (default: the admin asking).
func roleInput(role string, admin bool, ownerID int64, asking store.User) (string, int64, FieldErrors) {
	var fe FieldErrors
	switch {
	case role == "" && admin:
		role = store.RoleAdmin
	case role == "":
		role = store.RoleMember
	case !store.ValidRole(role):
		fe.add("role", "must be admin, member or viewer")
	}
	if role != store.RoleViewer {
		if ownerID != 0 {
			fe.add("owner_id", "is only for a viewer")
		}
		return role, 0, fe
	}
	if ownerID == 0 {
		ownerID = asking.ID
	}
	return role, ownerID, fe
}

func (a *App) apiCreateUser(w http.ResponseWriter, r *http.Request) {
	if !userFrom(r.Context()).Admin {
		a.writeError(w, r, errForbidden)
		return
	}
	var in newUserInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	email, fe := checkCredentials(in.Email, in.Password)
	role, owner, rfe := roleInput(in.Role, in.Admin, in.OwnerID, userFrom(r.Context()))
	if fe = append(fe, rfe...); len(fe) > 0 {
		a.writeError(w, r, fe)
		return
	}
	hash, err := a.hash.Hash(r.Context(), in.Password)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.st.CreateUserWithRole(r.Context(), email, hash, role, owner)
	if errors.Is(err, store.ErrInvalid) {
		a.writeError(w, r, FieldErrors{{Field: "owner_id", Message: "must be an account that is not a viewer"}})
		return
	}
	if errors.Is(err, store.ErrConflict) {
		a.writeError(w, r, &apiError{Status: http.StatusConflict, Title: "Conflict", Detail: "email is already registered", Field: "email"})
		return
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u))
}

// apiSetRole changes another user's role (and a viewer's owner). It ends
// their credentials: rights come with new sign-ins only.
func (a *App) apiSetRole(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in struct {
		Role    string `json:"role"`
		OwnerID int64  `json:"owner_id"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	me := userFrom(r.Context())
	if in.Role == "" {
		a.writeError(w, r, FieldErrors{{Field: "role", Message: "is required"}})
		return
	}
	role, owner, fe := roleInput(in.Role, false, in.OwnerID, me)
	if id == me.ID {
		fe.add("role", "cannot be changed on your own account (another admin can)")
	}
	if len(fe) > 0 {
		a.writeError(w, r, fe)
		return
	}
	err = a.st.SetUserRole(r.Context(), id, role, owner)
	if errors.Is(err, store.ErrInvalid) {
		a.writeError(w, r, FieldErrors{{Field: "owner_id", Message: "must be another account that is not a viewer"}})
		return
	}
	if err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	a.credentialsEnded(id, nil)
	u, err := a.st.UserByID(r.Context(), id)
	if err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// apiChangePassword changes the caller's own password (the current one is
// checked, throttled like a sign-in) and ends every other credential of
// theirs: sessions (but this request's own, if it came with the cookie),
// API tokens and JWTs. The answer is a fresh JWT to go on with.
func (a *App) apiChangePassword(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	ctx := r.Context()
	u := userFrom(ctx)
	err := a.checkCurrentPassword(r, w, u, in.CurrentPassword)
	if errors.Is(err, errBadLogin) {
		err = FieldErrors{{Field: "current_password", Message: "is not your current password"}}
	} else if err == nil {
		if msg := checkPassword(in.NewPassword); msg != "" {
			err = FieldErrors{{Field: "new_password", Message: msg}}
		}
	}
	var hash string
	if err == nil {
		hash, err = a.hash.Hash(ctx, in.NewPassword)
	}
	var keep []byte
	if r.Header.Get("Authorization") == "" {
		keep = currentSession(r)
	}
	if err == nil {
		err = a.st.ChangePassword(ctx, u.ID, hash, keep)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.credentialsEnded(u.ID, keep)
	if u, err = a.st.UserByID(ctx, u.ID); err != nil {
		a.writeError(w, r, err)
		return
	}
	tok, exp, err := a.issueToken(u)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": tok, "expires_at": exp})
}

// CreateUser validates and creates an account from the command line; the
// first account is always an admin.
func CreateUser(ctx context.Context, st *store.Store, email, password string, admin bool) (store.User, error) {
	email, fe := checkCredentials(email, password)
	if len(fe) > 0 {
		return store.User{}, fe
	}
	hash, err := newHasher(1).Hash(ctx, password)
	if err != nil {
		return store.User{}, err
	}
	u, err := st.CreateFirstUser(ctx, email, hash)
	if errors.Is(err, store.ErrConflict) {
		u, err = st.CreateUser(ctx, email, hash, admin)
	}
	if errors.Is(err, store.ErrConflict) {
		return u, fmt.Errorf("email: %s is already registered", email)
	}
	return u, err
}

// ResetPassword sets a user's password from the command line and ends every
// credential of theirs: sessions, API tokens and JWTs (a server running
// meanwhile refuses them at their next request; its live feeds close
// within about a second).
func ResetPassword(ctx context.Context, st *store.Store, email, password string) (store.User, error) {
	u, err := st.UserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, store.ErrNotFound) {
		return u, fmt.Errorf("email: no user %q", email)
	}
	if err != nil {
		return u, err
	}
	if msg := checkPassword(password); msg != "" {
		return u, fmt.Errorf("password: %s", msg)
	}
	hash, err := newHasher(1).Hash(ctx, password)
	if err == nil {
		err = st.SetPassword(ctx, u.ID, hash)
	}
	return u, err
}
