package notify

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// Hostile monitor names the escaping tests send through every provider.
const (
	hostileChat   = `<!channel> @everyone *x* "quotes" </script>`
	hostileHeader = "x\r\nBcc: a@b.c"
)

func at0() time.Time { return time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC) }

func downEvent() Event {
	return Event{
		Kind: EventDown, MonitorID: 42, Monitor: "API", URL: "https://api.example.com/health",
		Reason: "status", Error: "HTTP 503 Service Unavailable", StatusCode: 503,
		StartedAt: at0(), At: at0(), Link: "https://upwatch.example.com/monitors/42",
	}
}

func upEvent() Event {
	e := downEvent()
	e.Kind = EventUp
	e.Reason, e.Error, e.StatusCode = "", "", 0
	e.At = at0().Add(252 * time.Second)
	e.Duration = 252 * time.Second
	return e
}

func hostileEvent(name string) Event {
	e := downEvent()
	e.Monitor = name
	return e
}

// testOptions never uses a proxy from the environment and bounds every
// request, whatever the test forgets.
func testOptions() Options {
	return Options{HTTPClient: &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
	}}
}

type captured struct {
	Method string
	Path   string // path and query as sent
	Header http.Header
	Body   []byte
}

// receiver is an httptest server on 127.0.0.1 that records each request
// and answers with status and body.
func receiver(t *testing.T, status int, body string) (*httptest.Server, <-chan captured) {
	t.Helper()
	ch := make(chan captured, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		select {
		case ch <- captured{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: b}:
		default:
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func receive(t *testing.T, ch <-chan captured) captured {
	t.Helper()
	select {
	case c := <-ch:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("receiver got no request")
		return captured{}
	}
}

func mustNew(t *testing.T, typ, settings string, opts Options) Sender {
	t.Helper()
	s, err := New(typ, json.RawMessage(settings), opts)
	if err != nil {
		t.Fatalf("New(%s, %s): %v", typ, settings, err)
	}
	return s
}

// assertJSON compares a body with the expected JSON as structures, so key
// order and spacing do not matter but every key and value does.
func assertJSON(t *testing.T, body []byte, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(got, exp) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(exp, "", "  ")
		t.Fatalf("payload mismatch\n got: %s\nwant: %s", g, w)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func fieldOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}
