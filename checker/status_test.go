package checker

import (
	"strings"
	"testing"
)

func TestStatusRangesParse(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form
	}{
		{in: "", want: "200-299"},
		{in: "   ", want: "200-299"},
		{in: "200-299", want: "200-299"},
		{in: "200", want: "200"},
		{in: "200,301-302", want: "200,301-302"},
		{in: "2xx,304", want: "200-299,304"},
		{in: "2XX", want: "200-299"},
		{in: "1xx,5xx", want: "100-199,500-599"},
		{in: " 200 , 204 ,\t404 ", want: "200,204,404"},
		{in: "200 - 204", want: "200-204"},
		{in: "300-399,200-299", want: "200-399"}, // sorted and merged
		{in: "200-250,240-299,2xx", want: "200-299"},
		{in: "100-599", want: "100-599"},
		{in: "404,404", want: "404"},
		{in: "599", want: "599"},
		{in: "100", want: "100"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseStatusRanges(tt.in)
			if err != nil {
				t.Fatalf("ParseStatusRanges(%q): %v", tt.in, err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			// Canonical form parses back to the same set.
			r2, err := ParseStatusRanges(r.String())
			if err != nil || r2 != r {
				t.Errorf("round trip of %q: %v, equal=%v", r.String(), err, r2 == r)
			}
		})
	}
}

func TestStatusRangesContains(t *testing.T) {
	tests := []struct {
		in      string
		yes, no []int
	}{
		{"", []int{200, 204, 299}, []int{199, 300, 301, 404, 500, 0, -1, 1000}},
		{"200,301-302", []int{200, 301, 302}, []int{201, 300, 303}},
		{"2xx,304", []int{200, 250, 299, 304}, []int{300, 303, 305, 404}},
		{"404", []int{404}, []int{200, 403, 405}},
		{"100-599", []int{100, 599}, []int{99, 600}},
		{"5xx", []int{500, 503, 599}, []int{499, 600}},
	}
	for _, tt := range tests {
		r, err := ParseStatusRanges(tt.in)
		if err != nil {
			t.Fatalf("ParseStatusRanges(%q): %v", tt.in, err)
		}
		for _, c := range tt.yes {
			if !r.Contains(c) {
				t.Errorf("%q should contain %d", tt.in, c)
			}
		}
		for _, c := range tt.no {
			if r.Contains(c) {
				t.Errorf("%q should not contain %d", tt.in, c)
			}
		}
	}
}

func TestStatusRangesBad(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // exact message: these are shown to users
	}{
		{"600", `status range "600" out of 100-599`},
		{"99", `status range "99" out of 100-599`},
		{"0", `status range "0" out of 100-599`},
		{"200-600", `status range "200-600" out of 100-599`},
		{"6xx", `status range "6xx" out of 100-599`},
		{"0xx", `status range "0xx" out of 100-599`},
		{"299-200", `status range "299-200" is backwards`},
		{"abc", `invalid status range "abc"`},
		{"2x", `invalid status range "2x"`},
		{"2xxx", `invalid status range "2xxx"`},
		{"x2x", `invalid status range "x2x"`},
		{"+200", `invalid status range "+200"`},
		{"-200", `invalid status range "-200"`},
		{"200-", `invalid status range "200-"`},
		{"200-300-400", `invalid status range "200-300-400"`},
		{"2000", `invalid status range "2000"`},
		{"200.5", `invalid status range "200.5"`},
		{"200;300", `invalid status range "200;300"`},
		{"200 300", `invalid status range "200 300"`},
		{"200,", `empty status range (stray comma?)`},
		{",200", `empty status range (stray comma?)`},
		{"200,,300", `empty status range (stray comma?)`},
		{"２００", `invalid status range "２００"`}, // full-width digits
		{strings.Repeat("200,", 20) + "200", `too many status ranges (21, max 20)`},
		{strings.Repeat("x", 1000), `invalid status range "xxxxxxxxxxxxxxxxxxxx"…`},
		{"\x00", `invalid status range "\x00"`},
	}
	for _, tt := range tests {
		t.Run(quoteShort(tt.in), func(t *testing.T) {
			r, err := ParseStatusRanges(tt.in)
			if err == nil {
				t.Fatalf("ParseStatusRanges(%q) = %v, want error", tt.in, r)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("error = %q, want %q", err, tt.wantErr)
			}
			if r != (StatusRanges{}) {
				t.Errorf("failed parse returned a non-zero set %v", r)
			}
		})
	}
}

func TestStatusRangesMaxParts(t *testing.T) {
	in := strings.Repeat("200,", 19) + "200" // exactly 20
	if _, err := ParseStatusRanges(in); err != nil {
		t.Fatalf("20 parts: %v", err)
	}
}

func TestStatusRangesZero(t *testing.T) {
	var r StatusRanges
	if r.Contains(200) || r.String() != "" {
		t.Fatalf("zero value should match nothing, got %q", r.String())
	}
}

func BenchmarkStatusRangesParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseStatusRanges("2xx,301-302,404"); err != nil {
			b.Fatal(err)
		}
	}
}
