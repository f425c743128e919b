package checker

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

func httpType() Type {
	return Type{
		Name:  TypeHTTP,
		Label: "HTTP(S)",
		Help:  "A web page or API answers with an accepted status, and optionally the expected content.",
		Fields: []settings.FieldInfo{
			{Name: "keyword", Label: "Keyword", Kind: settings.KindText,
				Help: "Text the response body must contain (the first 1 MiB is searched)."},
			{Name: "keyword_absent", Label: "Keyword must be absent", Kind: settings.KindBool, Default: "false",
				Help: "Fail when the keyword appears, e.g. an error marker."},
			{Name: "case_sensitive", Label: "Case-sensitive keyword", Kind: settings.KindBool, Default: "false"},
			{Name: "json_path", Label: "JSON path", Kind: settings.KindText,
				Help: "A value in a JSON body to check, e.g. $.status or $.items[-1]['queue depth']: $ then .name, ['name'] and [index] only."},
			{Name: "json_op", Label: "Comparison", Kind: settings.KindSelect, Options: jsonOps, Default: opEq,
				Help: "Numbers compare numerically, other values as text; contains tests a string for a substring or an array for an element."},
			{Name: "json_value", Label: "Expected value", Kind: settings.KindText,
				Help: "Required unless the comparison is exists."},
			{Name: "auth_user", Label: "Basic auth user", Kind: settings.KindText},
			{Name: "auth_password", Label: "Basic auth password", Kind: settings.KindPassword, Secret: true},
			{Name: "bearer_token", Label: "Bearer token", Kind: settings.KindPassword, Secret: true,
				Help: "Sent as Authorization: Bearer; not with basic auth."},
		},
		Reasons:   []string{reason.Timeout, reason.DNS, reason.Refused, reason.TLS, reason.Status, reason.Redirects, reason.Keyword, reason.JSON, reason.Blocked, reason.Error},
		Remote:    true,
		validate:  validateHTTPSettings,
		newProber: func(env ProbeEnv) Prober { return NewHTTPProber(env.HTTP) },
	}
}

// httpSettings are the HTTP type's own settings; the request itself is the
// top-level Spec fields. Empty fields are omitted so that a monitor
// without any stores {} and takes Probe's fast path.
type httpSettings struct {
	Keyword       string `json:"keyword,omitempty"`
	KeywordAbsent bool   `json:"keyword_absent,omitempty"`
	CaseSensitive bool   `json:"case_sensitive,omitempty"`
	JSONPath      string `json:"json_path,omitempty"`
	JSONOp        string `json:"json_op,omitempty"`
	JSONValue     string `json:"json_value,omitempty"`
	AuthUser      string `json:"auth_user,omitempty"`
	AuthPassword  string `json:"auth_password,omitempty"`
	BearerToken   string `json:"bearer_token,omitempty"`
}

// maxKeywordLen bounds the keyword: it is searched for in up to MaxBody
// bytes on every check.
const maxKeywordLen = 1 << 10

func validateHTTPSettings(raw json.RawMessage) (json.RawMessage, settings.FieldErrors) {
	s, errs := decodeAs[httpSettings](httpType().Fields, raw)
	if len(errs) > 0 {
		return nil, errs
	}
	// A blank text field is an unset one (settings.CheckField lets
	// whitespace through for optional fields).
	for _, f := range []*string{&s.Keyword, &s.JSONPath, &s.JSONValue, &s.AuthUser, &s.BearerToken} {
		if strings.TrimSpace(*f) == "" {
			*f = ""
		}
	}
	s.JSONPath = strings.TrimSpace(s.JSONPath)
	s.AuthUser = strings.TrimSpace(s.AuthUser)
	s.BearerToken = strings.TrimSpace(s.BearerToken)

	switch {
	case len(s.Keyword) > maxKeywordLen:
		errs.Add("keyword", "must be at most %d bytes", maxKeywordLen)
	case s.Keyword == "" && s.KeywordAbsent:
		errs.Add("keyword", "is required when the keyword must be absent")
	}
	if s.Keyword == "" {
		s.CaseSensitive = false
	}

	if s.JSONPath == "" {
		if s.JSONOp != "" || s.JSONValue != "" {
			errs.Add("json_path", "is required for a JSON check")
		}
	} else {
		if _, err := parseJSONPath(s.JSONPath); err != nil {
			errs.Add("json_path", "%s", err)
		}
		if s.JSONOp == "" {
			s.JSONOp = opEq
		}
		switch {
		case s.JSONOp == opExists:
			s.JSONValue = "" // left over from another comparison in a form
		case s.JSONValue == "":
			errs.Add("json_value", "is required for %s", s.JSONOp)
		case isOrderingOp(s.JSONOp):
			if s.JSONValue = strings.TrimSpace(s.JSONValue); !isJSONNumber(s.JSONValue) {
				errs.Add("json_value", "must be a number for %s", s.JSONOp)
			}
		}
	}

	switch {
	case strings.Contains(s.AuthUser, ":"):
		// RFC 7617: the first colon separates user and password.
		errs.Add("auth_user", "must not contain a colon")
	case s.AuthUser == "" && s.AuthPassword != "":
		errs.Add("auth_user", "is required with a password")
	}
	if s.BearerToken != "" && (s.AuthUser != "" || s.AuthPassword != "") {
		errs.Add("bearer_token", "cannot be used together with basic auth")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return marshalSettings(s)
}

// httpCheck is a monitor's HTTP settings made ready for Probe.
type httpCheck struct {
	httpSettings
	json *jsonAssertion // nil without a JSON check
}

// newHTTPCheck reads stored settings; nil (and no allocation) when there
// are none, the case of most monitors.
func newHTTPCheck(raw json.RawMessage) (*httpCheck, error) {
	if len(raw) == 0 || string(raw) == "{}" || string(raw) == "null" {
		return nil, nil
	}
	c := &httpCheck{}
	if err := json.Unmarshal(raw, &c.httpSettings); err != nil {
		// Not err's text: it may quote a piece of a secret.
		return nil, errors.New("the monitor's settings cannot be read")
	}
	if c.JSONPath != "" {
		a, err := newJSONAssertion(c.JSONPath, c.JSONOp, c.JSONValue)
		if err != nil {
			return nil, err
		}
		c.json = a
	}
	return c, nil
}

// readsBody tells whether the check needs the body's bytes, not just its
// arrival.
func (c *httpCheck) readsBody() bool { return c.Keyword != "" || c.json != nil }

// authorize adds the configured credentials. They override an
// Authorization header set among the monitor's headers; http.Client drops
// them on a redirect to another host.
func (c *httpCheck) authorize(req *http.Request) {
	switch {
	case c.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+c.BearerToken)
	case c.AuthUser != "":
		req.SetBasicAuth(c.AuthUser, c.AuthPassword)
	}
}

// judge checks the body of a response with an accepted status and fills
// out's verdict. body is the start of the response body (truncated when
// it was longer than the prober reads) and head its first bytes, kept
// apart because the keyword check may fold body's case in place; the JSON
// check therefore runs first.
func (c *httpCheck) judge(out *Outcome, body []byte, truncated bool, head []byte) {
	if c.json != nil {
		detail, failure := c.json.check(body, truncated)
		out.Detail = capError(detail)
		if failure != "" {
			out.Reason, out.Error, out.Excerpt = reason.JSON, capError(failure), excerpt(head)
			return
		}
	}
	if c.Keyword != "" {
		found := containsKeyword(body, c.Keyword, c.CaseSensitive)
		if found == c.KeywordAbsent {
			msg := "keyword " + settings.Quote(c.Keyword, 60)
			switch {
			case found:
				msg += " found"
			case truncated:
				msg += " not found in the first " + sizeText(int64(len(body)))
			default:
				msg += " not found"
			}
			out.Reason, out.Error, out.Excerpt = reason.Keyword, capError(msg), excerpt(head)
			return
		}
	}
	out.OK = true
}

// containsKeyword searches body for kw. Without case sensitivity an ASCII
// keyword (the usual one) is matched by folding body's ASCII letters in
// place, which costs no copy of up to MaxBody bytes; other keywords fold
// a copy with Unicode lower-casing.
func containsKeyword(body []byte, kw string, caseSensitive bool) bool {
	switch {
	case caseSensitive:
		return bytes.Contains(body, []byte(kw))
	case isASCII(kw):
		for i, b := range body {
			if 'A' <= b && b <= 'Z' {
				body[i] = b + 'a' - 'A'
			}
		}
		return bytes.Contains(body, []byte(strings.ToLower(kw)))
	}
	return bytes.Contains(bytes.ToLower(body), []byte(strings.ToLower(kw)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
