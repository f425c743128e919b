package app

import (
	"compress/gzip"
	"net/http"
	"strings"
	"sync"
)

// gzipper compresses HTML and JSON answers for clients that accept it: the
// overview's history tooltips repeat a lot and shrink about tenfold.
type gzipper struct {
	pool sync.Pool
}

func (g *gzipper) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || r.Header.Get("Upgrade") != "" ||
			strings.HasPrefix(r.URL.Path, "/static/") || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w, g: g}
		defer gw.finish()
		w.Header().Add("Vary", "Accept-Encoding")
		next.ServeHTTP(gw, r)
	})
}

// gzipWriter decides at WriteHeader whether to compress, by content type.
type gzipWriter struct {
	http.ResponseWriter
	g       *gzipper
	zw      *gzip.Writer
	decided bool
}

func (w *gzipWriter) WriteHeader(code int) {
	if !w.decided {
		w.decided = true
		h := w.Header()
		ct := h.Get("Content-Type")
		if code != http.StatusNoContent && code != http.StatusNotModified && h.Get("Content-Encoding") == "" &&
			(strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/problem+json")) {
			h.Set("Content-Encoding", "gzip")
			h.Del("Content-Length")
			if zw, ok := w.g.pool.Get().(*gzip.Writer); ok {
				zw.Reset(w.ResponseWriter)
				w.zw = zw
			} else {
				w.zw, _ = gzip.NewWriterLevel(w.ResponseWriter, gzip.BestSpeed) // most of the gain at a third of the CPU
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *gzipWriter) Write(b []byte) (int, error) {
	if !w.decided {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.zw != nil {
		return w.zw.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *gzipWriter) finish() {
	if w.zw != nil {
		_ = w.zw.Close()
		w.g.pool.Put(w.zw)
	}
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (w *gzipWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
