package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/upwatch/upwatch/store"
)

// FieldError is one problem with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// FieldErrors collects validation problems; it is an error when non-empty.
type FieldErrors []FieldError

func (fe FieldErrors) Error() string {
	parts := make([]string, len(fe))
	for i, e := range fe {
		parts[i] = e.Field + ": " + e.Message
	}
	return strings.Join(parts, "; ")
}

func (fe *FieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Map is field → first message, for forms.
func (fe FieldErrors) Map() map[string]string {
	m := make(map[string]string, len(fe))
	for _, e := range fe {
		if _, ok := m[e.Field]; !ok {
			m[e.Field] = e.Message
		}
	}
	return m
}

// apiError is an error with a status and a message that is safe to show.
type apiError struct {
	Status     int
	Title      string
	Detail     string
	Field      string
	Errors     FieldErrors
	RetryAfter int // seconds; 0: no Retry-After header
	wrapped    error
}

func (e *apiError) Error() string { return e.Detail }
func (e *apiError) Unwrap() error { return e.wrapped }

func badRequest(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	return &apiError{Status: http.StatusBadRequest, Title: "Bad request", Detail: msg, Field: field,
		Errors: FieldErrors{{Field: field, Message: msg}}}
}

func invalid(fe FieldErrors) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Title: "Invalid input", Detail: fe.Error(),
		Field: fe[0].Field, Errors: fe}
}

var (
	errNotFound     = &apiError{Status: http.StatusNotFound, Title: "Not found", Detail: "not found"}
	errUnauthorized = &apiError{Status: http.StatusUnauthorized, Title: "Unauthorized", Detail: "missing or invalid credentials"}
	errForbidden    = &apiError{Status: http.StatusForbidden, Title: "Forbidden", Detail: "not allowed"}
)

// problem is an RFC 9457 problem document.
type problem struct {
	Type   string      `json:"type"`
	Title  string      `json:"title"`
	Status int         `json:"status"`
	Detail string      `json:"detail,omitempty"`
	Field  string      `json:"field,omitempty"`
	Errors FieldErrors `json:"errors,omitempty"`
}

// storageError maps a database failing for a reason outside the request
// (store.Fault: locked by another process, disk full, read-only, I/O
// error) to 503 — 507 for a full disk — with Retry-After and the cause in
// words, for the API and the pages alike; nil for any other error. The
// request may well succeed once an operator has acted, so it is not an
// "internal error".
func (a *App) storageError(r *http.Request, err error) *apiError {
	f := store.Fault(err)
	if f == nil {
		return nil
	}
	a.log.Warn("request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "cause", f, "err", err)
	ae := &apiError{Status: http.StatusServiceUnavailable, Title: "Database unavailable",
		Detail: "upwatch cannot reach its database: " + f.Error() + "; try again in a moment", RetryAfter: 5, wrapped: err}
	switch f {
	case store.ErrDiskFull:
		ae.Status, ae.Title, ae.RetryAfter = http.StatusInsufficientStorage, "Insufficient storage", 60
	case store.ErrReadOnly, store.ErrIO:
		ae.RetryAfter = 30 // waits for an operator, not for another process
	}
	return ae
}

func setRetryAfter(w http.ResponseWriter, ae *apiError) {
	if ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ae.RetryAfter))
	}
}

// writeError maps any error to a response once: known kinds say what went
// wrong; anything else is logged and answered "internal error".
func (a *App) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var fe FieldErrors
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe) && len(fe) > 0:
		ae = invalid(fe)
	default:
		if ae = a.storageError(r, err); ae != nil {
			break
		}
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = &apiError{Status: http.StatusInternalServerError, Title: "Internal error", Detail: "internal error"}
	}
	setRetryAfter(w, ae)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(problem{
		Type: "about:blank", Title: ae.Title, Status: ae.Status,
		Detail: ae.Detail, Field: ae.Field, Errors: ae.Errors,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxBody caps every request body; larger ones get 413.
const maxBody = 1 << 20

// decodeJSON reads a JSON body strictly (whatever the Content-Type, so a
// plain `curl -d` works; cross-origin browser posts are refused earlier): unknown fields, wrong types, trailing
// data and oversize bodies are client errors naming the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badRequest("body", "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return &apiError{Status: http.StatusRequestEntityTooLarge, Title: "Body too large",
			Detail: fmt.Sprintf("body is larger than %d bytes", tooBig.Limit), Field: "body"}
	case errors.As(err, &syn):
		return badRequest("body", "invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return badRequest(field, "must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF):
		return badRequest("body", "body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "JSON ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(field, "unknown field")
	}
	return badRequest("body", "invalid JSON")
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "int32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return k
}
