package app

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// Cursor paging for every list endpoint: ?limit= (default 100, 1–1000)
// and ?cursor= (the previous answer's next_cursor). Answers are
// {"items": […], "next_cursor": "…"}, next_cursor left out on the last
// page. A cursor is the sort key of the previous page's last row (keyset
// paging: no OFFSET), signed so that a tampered or made-up one is refused
// (422 naming cursor) instead of being trusted; it names its list, so one
// list's cursor is no good for another.
const (
	defaultPageLimit = 100
	maxPageLimit     = store.MaxPage
)

// pageKey signs cursors: derived from the JWT secret, so cursors survive a
// restart; a random one when the app has none (tests).
func newPageKey(secret []byte) []byte {
	if len(secret) == 0 {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("upwatch page cursor v1"))
	return m.Sum(nil)
}

func (a *App) cursorMAC(payload string) []byte {
	m := hmac.New(sha256.New, a.pageKey)
	m.Write([]byte(payload))
	return m.Sum(nil)[:16]
}

// encodeCursor turns the key to go on from into an opaque cursor for list.
func (a *App) encodeCursor(list string, k store.Key) string {
	payload := list + "\x00" + strconv.FormatInt(k.At, 10) + "\x00" + k.Str + "\x00" + strconv.FormatInt(k.ID, 10)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(a.cursorMAC(payload))
}

var errBadCursor = &apiError{Status: http.StatusUnprocessableEntity, Title: "Invalid input",
	Detail: "cursor: is not a cursor of this list (pass next_cursor from the previous page unchanged)", Field: "cursor",
	Errors: FieldErrors{{Field: "cursor", Message: "is not a cursor of this list (pass next_cursor from the previous page unchanged)"}}}

func (a *App) decodeCursor(list, s string) (store.Key, error) {
	enc := base64.RawURLEncoding
	p, m, ok := strings.Cut(s, ".")
	if !ok || len(s) > 512 {
		return store.Key{}, errBadCursor
	}
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, a.cursorMAC(string(payload))) {
		return store.Key{}, errBadCursor
	}
	parts := strings.Split(string(payload), "\x00")
	if len(parts) != 4 || parts[0] != list {
		return store.Key{}, errBadCursor
	}
	at, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil {
		return store.Key{}, errBadCursor
	}
	return store.Key{At: at, Str: parts[2], ID: id}, nil
}

// pageParams reads ?limit= and ?cursor= for list; errors name the field
// (422).
func (a *App) pageParams(r *http.Request, list string) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Limit: defaultPageLimit}
	if s := q.Get("limit"); s != "" || q.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			return p, invalid(FieldErrors{{Field: "limit", Message: "must be a whole number from 1 to " + strconv.Itoa(maxPageLimit)}})
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" || q.Has("cursor") {
		k, err := a.decodeCursor(list, s)
		if err != nil {
			return p, err
		}
		p.After = &k
	}
	return p, nil
}

func (a *App) writePage(w http.ResponseWriter, list string, items any, next *store.Key) {
	out := map[string]any{"items": items}
	if next != nil {
		out["next_cursor"] = a.encodeCursor(list, *next)
	}
	writeJSON(w, http.StatusOK, out)
}

// listPage reads one page with read and answers it, each row rendered by
// conv; errors (the parameters' or the read's) are answered too.
func listPage[T, J any](a *App, w http.ResponseWriter, r *http.Request, list string,
	read func(store.Page) ([]T, *store.Key, error), conv func(T) J) {
	p, err := a.pageParams(r, list)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	rows, next, err := read(p)
	if err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	items := make([]J, len(rows))
	for i, t := range rows {
		items[i] = conv(t)
	}
	a.writePage(w, list, items, next)
}

// Dashboard lists page the same way, through a query parameter of their
// own (several lists share a page). A bad cursor there shows the first
// page: a stale link is not worth an error page.

// pageCursor reads a dashboard list's cursor from ?param=.
func (a *App) pageCursor(r *http.Request, param, list string) *store.Key {
	s := r.URL.Query().Get(param)
	if s == "" {
		return nil
	}
	k, err := a.decodeCursor(list, s)
	if err != nil {
		return nil
	}
	return &k
}

// pager links a dashboard list at path (with anchor, e.g. "#incidents") to
// its next page and back to its first; the page's other parameters stay,
// a flash message does not.
func (a *App) pager(r *http.Request, path, anchor, param, list string, next *store.Key) views.Pager {
	q := r.URL.Query()
	q.Del("m")
	var p views.Pager
	paged := q.Get(param) != ""
	if next != nil {
		q.Set(param, a.encodeCursor(list, *next))
		p.Next = path + "?" + q.Encode() + anchor
	}
	if paged {
		q.Del(param)
		p.First = path
		if len(q) > 0 {
			p.First += "?" + q.Encode()
		}
		p.First += anchor
	}
	return p
}
