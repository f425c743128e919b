package checker

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseJSONPath(t *testing.T) {
	key := func(k string) pathSeg { return pathSeg{key: k} }
	idx := func(i int) pathSeg { return pathSeg{index: i, isIndex: true} }
	for _, tc := range []struct {
		path string
		want jsonPath
	}{
		{"$", nil},
		{"$.status", jsonPath{key("status")}},
		{"$.queue.depth", jsonPath{key("queue"), key("depth")}},
		{"$.a_b-c.d9", jsonPath{key("a_b-c"), key("d9")}},
		{"$.été", jsonPath{key("été")}},
		{"$['a b']", jsonPath{key("a b")}},
		{`$["a.b"]`, jsonPath{key("a.b")}},
		{`$['it\'s']`, jsonPath{key("it's")}},
		{`$["say \"hi\""]`, jsonPath{key(`say "hi"`)}},
		{`$['back\\slash\/\t']`, jsonPath{key("back\\slash/\t")}},
		{`$['\u00e9\ud83d\ude00']`, jsonPath{key("é😀")}},
		{`$['']`, jsonPath{key("")}},
		{"$[0]", jsonPath{idx(0)}},
		{"$[-1]", jsonPath{idx(-1)}},
		{"$.items[2].name", jsonPath{key("items"), idx(2), key("name")}},
		{"$['a']['b'][3][-2]", jsonPath{key("a"), key("b"), idx(3), idx(-2)}},
		{"$[0][1][2]", jsonPath{idx(0), idx(1), idx(2)}},
	} {
		got, err := parseJSONPath(tc.path)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.path, got, tc.want)
		}
	}
}

func TestParseJSONPathErrors(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"", "must start with $"},
		{"status", "must start with $"},
		{".status", "must start with $"},
		{"$.", "expected a name after the dot (use ['...'] for other characters) at position 2"},
		{"$.a.", "expected a name after the dot (use ['...'] for other characters) at position 4"},
		{"$..a", "recursive descent (..) is not supported at position 2"},
		{"$.*", "wildcards are not supported at position 3"},
		{"$[*]", "wildcards are not supported"},
		{"$[?(@.a)]", "filters are not supported"},
		{"$[0:2]", "slices are not supported at position 4"},
		{"$[:2]", "slices are not supported"},
		{"$[0,1]", "unions are not supported"},
		{"$['a','b']", "unions are not supported"},
		{"$[", "unclosed [ at position 2"},
		{"$[0", "unclosed ["},
		{"$['a'", "unclosed ["},
		{"$['a", "unclosed quote"},
		{"$['a\\", "unclosed quote"},
		{"$[a]", `unexpected 'a' (expected a quoted name or an index)`},
		{"$[ 0 ]", `unexpected ' '`},
		{"$[-]", "expected an index after -"},
		{"$[+1]", `unexpected '+'`},
		{"$[1a]", `unexpected 'a' (expected ])`},
		{"$[99999999999999999999]", "index is too large"},
		{`$['\x']`, `unknown escape \x`},
		{`$['\u12']`, `invalid \u escape`},
		{`$['\ud800']`, `invalid \u escape`},
		{`$['\ud800\u0041']`, `invalid \u escape`},
		{"$.a b", `unexpected ' ' (expected . or [) at position 4`},
		{"$ .a", `unexpected ' '`},
		{"$.a$", `unexpected '$'`},
		{"$.é!", `unexpected '!' (expected . or [) at position 4`}, // positions count characters
	} {
		_, err := parseJSONPath(tc.path)
		if err == nil {
			t.Errorf("%q: accepted", tc.path)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %q, want it to contain %q", tc.path, err, tc.want)
		}
	}
}

func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "150": true, "-12.5": true, "1e3": true, "1E+3": true, "2.5e-10": true,
		"": false, "-": false, "+1": false, "01": false, ".5": false, "5.": false, "1e": false,
		" 1": false, "1 ": false, "0x10": false, "Inf": false, "NaN": false, "1_000": false, "abc": false,
	} {
		if got := isJSONNumber(s); got != want {
			t.Errorf("isJSONNumber(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestCompareNumbers(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"150", "100", 1},
		{"99.5", "100", -1},
		{"1.0", "1", 0},
		{"1e2", "100", 0},
		{"-3", "-2", -1},
		// Integers beyond 2^53 compare exactly, not as float64.
		{"9007199254740993", "9007199254740992", 1},
		{"1e400", "1e300", 1}, // out of float64 range: +Inf
	} {
		if got := compareNumbers(tc.a, tc.b); got != tc.want {
			t.Errorf("compareNumbers(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// FuzzParseJSONPath: any text a form sends is parsed without a panic, and
// a parsed path can be looked up in any document.
func FuzzParseJSONPath(f *testing.F) {
	for _, s := range []string{"$", "$.a[0]['b']", `$["\ud83d\ude00"]`, "$[-1]", "$..a", "$['a\\", "$[9999999999]"} {
		f.Add(s)
	}
	doc := map[string]any{"a": []any{map[string]any{"b": "x"}}, "": []any{}}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseJSONPath(s)
		if err != nil {
			return
		}
		p.lookup(doc)
	})
}
