package checker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/upwatch/upwatch/settings"
)

// jsonPath picks one value out of a JSON document. It is a subset of
// JSONPath (RFC 9535) that names exactly one value:
//
//	$                  the whole document
//	.name              a member; name is letters, digits, _ and -
//	['name'] ["name"]  a member by any name, with the escapes \\ \' \" \/
//	                   \b \f \n \r \t and \uXXXX
//	[n]                an array element; a negative n counts from the end
//	                   ([-1] is the last element)
//
// Segments chain to any depth: $.data.items[-1]['display name'].
// Wildcards, recursive descent (..), slices, unions and filters are
// rejected: they select several values, and a check must say which one it
// judges.
type jsonPath []pathSeg

type pathSeg struct {
	key     string
	index   int
	isIndex bool
}

// parseJSONPath parses s; its errors are phrased for a settings form.
func parseJSONPath(s string) (jsonPath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, errors.New("must start with $ (for example $.status)")
	}
	var p jsonPath
	for i := 1; i < len(s); {
		switch s[i] {
		case '.':
			if strings.HasPrefix(s[i:], "..") {
				return nil, pathError(s, i, "recursive descent (..) is not supported")
			}
			j := i + 1
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !isNameRune(r) {
					break
				}
				j += size
			}
			if j == i+1 {
				if j < len(s) && s[j] == '*' {
					return nil, pathError(s, j, "wildcards are not supported")
				}
				return nil, pathError(s, i, "expected a name after the dot (use ['...'] for other characters)")
			}
			p = append(p, pathSeg{key: s[i+1 : j]})
			i = j
		case '[':
			seg, next, err := parseBracket(s, i)
			if err != nil {
				return nil, err
			}
			p = append(p, seg)
			i = next
		default:
			return nil, pathError(s, i, "unexpected %s (expected . or [)", quoteRuneAt(s, i))
		}
	}
	return p, nil
}

// parseBracket parses the bracket segment starting at s[i] == '[' and
// returns it with the offset just after its ']'.
func parseBracket(s string, i int) (pathSeg, int, error) {
	j := i + 1
	if j >= len(s) {
		return pathSeg{}, 0, pathError(s, i, "unclosed [")
	}
	var seg pathSeg
	switch c := s[j]; {
	case c == '\'' || c == '"':
		key, end, err := parseQuotedKey(s, j)
		if err != nil {
			return pathSeg{}, 0, err
		}
		seg, j = pathSeg{key: key}, end
	case c == '-' || c >= '0' && c <= '9':
		start := j
		if c == '-' {
			j++
		}
		digits := j
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == digits {
			return pathSeg{}, 0, pathError(s, j, "expected an index after -")
		}
		n, err := strconv.Atoi(s[start:j])
		if err != nil {
			return pathSeg{}, 0, pathError(s, start, "index is too large")
		}
		seg = pathSeg{index: n, isIndex: true}
	case c == '*':
		return pathSeg{}, 0, pathError(s, j, "wildcards are not supported")
	case c == '?':
		return pathSeg{}, 0, pathError(s, j, "filters are not supported")
	case c == ':':
		return pathSeg{}, 0, pathError(s, j, "slices are not supported")
	default:
		return pathSeg{}, 0, pathError(s, j, "unexpected %s (expected a quoted name or an index)", quoteRuneAt(s, j))
	}
	switch {
	case j >= len(s):
		return pathSeg{}, 0, pathError(s, i, "unclosed [")
	case s[j] == ']':
		return seg, j + 1, nil
	case s[j] == ':':
		return pathSeg{}, 0, pathError(s, j, "slices are not supported")
	case s[j] == ',':
		return pathSeg{}, 0, pathError(s, j, "unions are not supported")
	}
	return pathSeg{}, 0, pathError(s, j, "unexpected %s (expected ])", quoteRuneAt(s, j))
}

// parseQuotedKey parses the quoted name starting at s[i] (' or ") and
// returns it with the offset just after the closing quote.
func parseQuotedKey(s string, i int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); {
		c := s[j]
		switch {
		case c == q:
			return b.String(), j + 1, nil
		case c != '\\':
			b.WriteByte(c)
			j++
			continue
		}
		if j+1 >= len(s) {
			break
		}
		switch e := s[j+1]; e {
		case '\\', '\'', '"', '/':
			b.WriteByte(e)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n := parseUnicodeEscape(s[j:])
			if n == 0 {
				return "", 0, pathError(s, j, `invalid \u escape (want \uXXXX)`)
			}
			b.WriteRune(r)
			j += n
			continue
		default:
			return "", 0, pathError(s, j, "unknown escape \\%c", e)
		}
		j += 2
	}
	return "", 0, pathError(s, i, "unclosed quote")
}

// parseUnicodeEscape reads \uXXXX (and a following low surrogate's
// escape) at the start of s; n is 0 when it is not a valid one.
func parseUnicodeEscape(s string) (r rune, n int) {
	hex := func(s string) (rune, bool) {
		if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[2:6], 16, 16)
		return rune(v), err == nil
	}
	r, ok := hex(s)
	switch {
	case !ok:
		return 0, 0
	case !utf16.IsSurrogate(r):
		return r, 6
	}
	low, ok := hex(s[6:])
	if !ok {
		return 0, 0
	}
	if r = utf16.DecodeRune(r, low); r == utf8.RuneError {
		return 0, 0
	}
	return r, 12
}

func isNameRune(r rune) bool {
	return r == '_' || r == '-' || r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// pathError names the (1-based, in characters) position of a fault.
func pathError(s string, i int, format string, args ...any) error {
	return fmt.Errorf(format+" at position %d", append(args, utf8.RuneCountInString(s[:i])+1)...)
}

func quoteRuneAt(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return strconv.QuoteRune(r)
}

// lookup returns the value at p in doc, a document decoded with
// json.Decoder.UseNumber.
func (p jsonPath) lookup(doc any) (any, bool) {
	v := doc
	for _, seg := range p {
		if seg.isIndex {
			arr, ok := v.([]any)
			if !ok {
				return nil, false
			}
			i := seg.index
			if i < 0 {
				i += len(arr)
			}
			if i < 0 || i >= len(arr) {
				return nil, false
			}
			v = arr[i]
			continue
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[seg.key]; !ok {
			return nil, false
		}
	}
	return v, true
}

// JSON assertion operators (the json_op setting).
const (
	opEq       = "=="
	opNe       = "!="
	opLt       = "<"
	opLe       = "<="
	opGt       = ">"
	opGe       = ">="
	opContains = "contains"
	opExists   = "exists"
)

var jsonOps = []string{opEq, opNe, opLt, opLe, opGt, opGe, opContains, opExists}

func isOrderingOp(op string) bool { return op == opLt || op == opLe || op == opGt || op == opGe }

// jsonAssertion is one check on a JSON body. Its semantics:
//
//   - A path that is not in the document fails every operator, != included:
//     a typo in the path, or an API that stopped sending the field, must not
//     pass silently.
//   - == and != compare a JSON number numerically when the expected value
//     is a number (so 1.0 == 1); strings compare exactly as text; true,
//     false and null compare by their JSON text. An object or an array
//     equals nothing.
//   - < <= > >= need a number: a JSON number, or a string holding one
//     (some APIs quote numbers); anything else fails.
//   - contains is a substring test on a string and a membership test on an
//     array (an element equal to the value as with ==).
//   - exists passes for any value, null included.
type jsonAssertion struct {
	path  jsonPath
	text  string // the path as configured, for messages
	op    string
	value string
}

func newJSONAssertion(path, op, value string) (*jsonAssertion, error) {
	p, err := parseJSONPath(path)
	if err != nil {
		return nil, fmt.Errorf("json_path: %w", err)
	}
	if op == "" {
		op = opEq
	}
	switch {
	case !slices.Contains(jsonOps, op):
		return nil, fmt.Errorf("json_op: unknown operator %s", settings.Quote(op, 20))
	case isOrderingOp(op) && !isJSONNumber(value):
		return nil, fmt.Errorf("json_value: must be a number for %s", op)
	}
	return &jsonAssertion{path: p, text: path, op: op, value: value}, nil
}

// check judges body. detail says what the path holds ("" when the body
// has no such value); failure is "" when the assertion holds. truncated
// tells that body is only the start of a longer one.
func (a *jsonAssertion) check(body []byte, truncated bool) (detail, failure string) {
	dec := json.NewDecoder(bytes.NewReader(body))
	// Numbers stay text: integers beyond 2^53 compare exactly.
	dec.UseNumber()
	var doc any
	err := dec.Decode(&doc)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("data after the value")
		}
	}
	if err != nil {
		if truncated {
			return "", "body is not JSON (only its start was read: " + sizeText(int64(len(body))) + ")"
		}
		return "", "body is not JSON"
	}
	v, ok := a.path.lookup(doc)
	if !ok {
		return "", a.text + " not found"
	}
	detail = a.text + " is " + describeJSON(v)
	if a.holds(v) {
		return detail, ""
	}
	switch {
	case a.op == opContains:
		failure = detail + ", expected to contain " + describeExpected(a.value)
		if !isContainer(v) {
			failure += " (not a string or an array)"
		}
	default:
		failure = detail + ", expected " + a.op + " " + describeExpected(a.value)
		if _, isNum := numberText(v, true); isOrderingOp(a.op) && !isNum {
			failure += " (not a number)"
		}
	}
	return detail, failure
}

func (a *jsonAssertion) holds(v any) bool {
	switch a.op {
	case opExists:
		return true
	case opEq:
		return jsonEqual(v, a.value)
	case opNe:
		return !jsonEqual(v, a.value)
	case opContains:
		switch v := v.(type) {
		case string:
			return strings.Contains(v, a.value)
		case []any:
			for _, e := range v {
				if jsonEqual(e, a.value) {
					return true
				}
			}
		}
		return false
	}
	n, ok := numberText(v, true)
	if !ok {
		return false
	}
	c := compareNumbers(n, a.value)
	switch a.op {
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	}
	return false
}

// jsonEqual compares a JSON value with the configured text (see
// jsonAssertion for the rules).
func jsonEqual(v any, want string) bool {
	switch v := v.(type) {
	case string:
		return v == want
	case json.Number:
		if isJSONNumber(want) {
			return compareNumbers(string(v), want) == 0
		}
		return string(v) == want
	case bool:
		return strconv.FormatBool(v) == want
	case nil:
		return want == "null"
	}
	return false
}

// numberText returns v's number text: a JSON number, or (with quoted) a
// string holding one.
func numberText(v any, quoted bool) (string, bool) {
	switch v := v.(type) {
	case json.Number:
		return string(v), true
	case string:
		return v, quoted && isJSONNumber(v)
	}
	return "", false
}

// compareNumbers compares two texts in JSON number syntax: exactly as
// integers when both are, else as float64 (an out-of-range value is ±Inf,
// which still orders correctly).
func compareNumbers(a, b string) int {
	if x, err := strconv.ParseInt(a, 10, 64); err == nil {
		if y, err := strconv.ParseInt(b, 10, 64); err == nil {
			return cmpOrdered(x, y)
		}
	}
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	return cmpOrdered(x, y)
}

func cmpOrdered[T int64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// isJSONNumber reports whether s is a number in JSON's syntax (no spaces,
// no leading +, no hex, no Inf or NaN).
func isJSONNumber(s string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

func isContainer(v any) bool {
	switch v.(type) {
	case string, []any:
		return true
	}
	return false
}

// describeJSON renders a value briefly for a message: the target controls
// it, so strings and numbers are cut.
func describeJSON(v any) string {
	switch v := v.(type) {
	case string:
		return settings.Quote(v, 60)
	case json.Number:
		if len(v) > 40 {
			return string(v[:40]) + "…"
		}
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	case []any:
		return fmt.Sprintf("an array of %d", len(v))
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// describeExpected renders the configured value: bare when it reads as a
// JSON number or literal, quoted otherwise.
func describeExpected(s string) string {
	if isJSONNumber(s) || s == "true" || s == "false" || s == "null" {
		return s
	}
	return settings.Quote(s, 60)
}

// sizeText renders a byte count for a message.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
