package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/upwatch/upwatch/store"
)

const (
	sessionCookie = "upwatch_session"
	jwtIssuer     = "upwatch"
)

type ctxKey int

const userKey ctxKey = 1

func withUser(ctx context.Context, u store.User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// userFrom returns the authenticated user put there by a middleware.
func userFrom(ctx context.Context) store.User {
	u, _ := ctx.Value(userKey).(store.User)
	return u
}

// jwtClaims are an API JWT's claims: the user's id and the credential
// version it was issued under (a password change, reset, disable or admin
// flag change moves the version on and so ends the token).
type jwtClaims struct {
	jwt.RegisteredClaims
	Version int64 `json:"ver"`
}

// issueToken signs a short-lived API token for a user.
func (a *App) issueToken(u store.User) (string, time.Time, error) {
	now := a.now()
	exp := now.Add(a.cfg.TokenTTL)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwtClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    jwtIssuer,
		Subject:   strconv.FormatInt(u.ID, 10),
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(exp),
	}, Version: u.CredVersion})
	s, err := tok.SignedString(a.cfg.JWTSecret)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp.UTC(), nil
}

// apiTokenPrefix starts every long-lived API token, so a bearer credential
// is told apart from a JWT without guessing (and secret scanners spot it).
const apiTokenPrefix = "upw_"

// bearerUser authenticates a bearer credential: an API token or a JWT.
// A worker token is neither: it is refused, saying so.
func (a *App) bearerUser(ctx context.Context, raw string) (store.User, error) {
	u, _, err := a.bearer(ctx, raw)
	return u, err
}

// bearer is bearerUser with the credential's scope: an API token's own,
// "" (everything the user may do) for a JWT.
func (a *App) bearer(ctx context.Context, raw string) (store.User, string, error) {
	if strings.HasPrefix(raw, workerTokenPrefix) {
		return store.User{}, "", errWorkerTokenHere
	}
	if strings.HasPrefix(raw, apiTokenPrefix) {
		u, t, err := a.st.APITokenUser(ctx, hashToken(raw))
		if errors.Is(err, store.ErrNotFound) {
			return store.User{}, "", errUnauthorized
		}
		if err != nil {
			return store.User{}, "", err
		}
		// Best-effort, like a session's: a read request must not fail
		// because its token's last use could not be written.
		if a.now().Sub(t.LastUsedAt) >= time.Minute && a.touch.due("token:"+strconv.FormatInt(t.ID, 10), a.now()) {
			if err := a.st.TouchAPIToken(ctx, t.ID); err != nil {
				a.log.Warn("recording API token use failed", "token", t.Prefix, "err", err)
			}
		}
		return u, t.Scope, nil
	}
	u, err := a.userFromToken(ctx, raw)
	return u, "", err
}

// userFromToken validates a bearer token and loads its (enabled) user,
// whose credential version must still be the token's.
func (a *App) userFromToken(ctx context.Context, raw string) (store.User, error) {
	claims := &jwtClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return a.cfg.JWTSecret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(jwtIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.now),
	)
	if err != nil {
		return store.User{}, errUnauthorized
	}
	id, err := strconv.ParseInt(claims.Subject, 10, 64)
	if err != nil {
		return store.User{}, errUnauthorized
	}
	u, err := a.st.UserByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (u.Disabled || u.CredVersion != claims.Version)) {
		return store.User{}, errUnauthorized
	}
	return u, err
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// startSession creates a server-side session and sets its cookie.
func (a *App) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, u store.User) error {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("session token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(buf)
	exp := a.now().Add(a.cfg.SessionTTL)
	if err := a.st.CreateSession(ctx, u.ID, u.CredVersion, hashToken(tok), exp); errors.Is(err, store.ErrNotFound) {
		return errUnauthorized // the password changed while this login was checked
	} else if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: tok, Path: "/", Expires: exp,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || a.cfg.SecureCookies,
	})
	return nil
}

func (a *App) endSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := a.st.DeleteSession(ctx, hashToken(c.Value)); err != nil {
			return err
		}
		a.hub.RevokeSession(string(hashToken(c.Value)))
	}
	a.endSessionCookie(w)
	return nil
}

func (a *App) endSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// sessionUser resolves the session cookie, if any.
func (a *App) sessionUser(r *http.Request) (store.User, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return store.User{}, false, nil
	}
	hash := hashToken(c.Value)
	u, err := a.st.SessionUser(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, false, nil
	}
	if err != nil {
		return store.User{}, false, err
	}
	if a.touch.due(string(hash), a.now()) {
		if err := a.st.TouchSession(r.Context(), hash, r.UserAgent()); err != nil {
			a.log.Warn("recording session use failed", "err", err)
		}
	}
	return u, true, nil
}

// requireAPI authenticates API calls by bearer token or session cookie.
func (a *App) requireAPI(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("Authorization"); h != "" {
			raw, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				a.writeError(w, r, errUnauthorized)
				return
			}
			u, scope, err := a.bearer(r.Context(), strings.TrimSpace(raw))
			if err != nil {
				a.writeError(w, r, err)
				return
			}
			next(w, r.WithContext(withUser(withScope(r.Context(), scope), u)))
			return
		}
		u, ok, err := a.sessionUser(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="upwatch"`)
			a.writeError(w, r, errUnauthorized)
			return
		}
		next(w, r.WithContext(withUser(r.Context(), u)))
	}
}

// requirePage sends visitors without a session to login (or to first-run setup).
func (a *App) requirePage(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok, err := a.sessionUser(r)
		if err != nil {
			a.pageError(w, r, err)
			return
		}
		if !ok {
			n, err := a.st.CountUsers(r.Context())
			if err != nil {
				a.pageError(w, r, err)
				return
			}
			if n == 0 {
				http.Redirect(w, r, "/setup", http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next(w, r.WithContext(withUser(r.Context(), u)))
	}
}

// toucher remembers when each session was last recorded as used, so that
// page views do not each cost a database write.
type toucher struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (t *toucher) due(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil || len(t.last) > 10000 {
		t.last = map[string]time.Time{} // bounded: forgetting only costs a write
	}
	if now.Sub(t.last[key]) < time.Minute {
		return false
	}
	t.last[key] = now
	return true
}

// newAPIToken makes a random API token and its display prefix.
func newAPIToken() (token, prefix string, err error) {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", "", fmt.Errorf("api token: %w", err)
	}
	token = apiTokenPrefix + base64.RawURLEncoding.EncodeToString(buf)
	return token, token[:len(apiTokenPrefix)+6], nil
}
