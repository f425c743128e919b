package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// upwatch healthcheck exits 0 on a healthy server and non-zero with the
// problems printed on an unhealthy one, or one that does not answer.
func TestHealthcheckCommand(t *testing.T) {
	healthy := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if healthy {
			io.WriteString(w, `{"status":"ok","problems":[]}`)
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"unhealthy","problems":[{"code":"store_write","message":"The database has not taken writes for 2m (the disk holding the database is full)."}]}`)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	var out bytes.Buffer
	if err := run(context.Background(), []string{"healthcheck"}, env(map[string]string{"PORT": port}), nil, &out, io.Discard); err != nil || out.String() != "healthy\n" {
		t.Fatalf("healthy server, by PORT: %v %q", err, out.String())
	}
	healthy = false
	out.Reset()
	err := run(context.Background(), []string{"healthcheck", "--url", srv.URL + "/healthz"}, env(nil), nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "unhealthy") || !strings.Contains(out.String(), "store_write: The database has not taken writes") {
		t.Fatalf("unhealthy server: %v %q", err, out.String())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	if err := run(context.Background(), []string{"healthcheck", "--port", closed}, env(nil), nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("no server: %v", err)
	}
}
