// Package static holds the dashboard's CSS, JS and icons, embedded in the
// binary and served at content-hashed URLs with immutable caching:
// a.URL("style.css") is "/static/style.3f2a9c1b0d.css", and a new build with
// different content gets a new URL.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

//go:embed style.css app.js live.js favicon.svg favicon-up.svg favicon-down.svg
var files embed.FS

// contentType of an embedded file, by extension; "" for an unknown one.
func contentType(ext string) string {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	return ""
}

type asset struct {
	url         string // "/static/style.3f2a9c1b0d.css"
	etag        string // `"3f2a9c1b0d"`
	contentType string
	body        []byte
}

// Assets serves the embedded files at their hashed URLs. It is read-only
// after New, so safe for concurrent use.
type Assets struct {
	byName map[string]*asset // "style.css" → asset
	byPath map[string]*asset // "style.3f2a9c1b0d.css" → asset
}

// New reads and hashes every embedded file once.
func New() (*Assets, error) {
	entries, err := files.ReadDir(".")
	if err != nil {
		return nil, fmt.Errorf("static: list files: %w", err)
	}
	a := &Assets{byName: map[string]*asset{}, byPath: map[string]*asset{}}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		name := e.Name()
		body, err := files.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("static: read %s: %w", name, err)
		}
		ext := path.Ext(name)
		ct := contentType(ext)
		if ct == "" {
			return nil, fmt.Errorf("static: no content type for %s", name)
		}
		sum := sha256.Sum256(body)
		hash := hex.EncodeToString(sum[:])[:10]
		hashed := strings.TrimSuffix(name, ext) + "." + hash + ext
		as := &asset{url: Prefix + hashed, etag: `"` + hash + `"`, contentType: ct, body: body}
		a.byName[name] = as
		a.byPath[hashed] = as
	}
	return a, nil
}

// URL is the hashed URL of an embedded file, e.g. URL("style.css").
// An unknown name gives its unhashed path, which ServeHTTP answers with 404,
// so a typo shows up as a missing asset rather than a crash.
func (a *Assets) URL(name string) string {
	if as, ok := a.byName[name]; ok {
		return as.url
	}
	return Prefix + name
}

// ServeHTTP serves hashed asset paths under /static/ with immutable caching;
// unknown files and stale hashes are 404.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	as := a.byPath[rest]
	if !ok || as == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", as.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, as.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(as.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(as.body) // an error means the client went away: nothing to do
}

// etagMatch reports whether an If-None-Match header matches etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
