package checker

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Status codes a monitor may accept. Anything outside is not an HTTP status a
// server can meaningfully send, so accepting it would only hide a typo.
const (
	minStatus = 100
	maxStatus = 599
)

// maxStatusParts bounds the work (and the error text) an untrusted
// expected-status string can cause; no real monitor needs more.
const maxStatusParts = 20

// DefaultStatusRanges is the accepted set when a monitor sets none.
const DefaultStatusRanges = "200-299"

// StatusRanges is a parsed set of accepted HTTP status codes, such as
// "200-299", "200,301-302" or "2xx,304".
//
// It is a fixed-size bitset rather than a slice of ranges: parsing and
// Contains allocate nothing, the value is comparable with ==, and it can be
// copied freely, which matters because a probe parses the monitor's set on
// every check. The zero value matches no code; get a useful value from
// ParseStatusRanges.
type StatusRanges struct {
	// bit (code - minStatus) is set when code is accepted.
	bits [(maxStatus - minStatus + 64) / 64]uint64
}

// ParseStatusRanges parses a comma-separated list of codes ("204"), ranges
// ("200-299") and class shorthands ("2xx"). Spaces around items are ignored;
// "" means the default set, 200-299. Overlapping items are fine. Errors are
// short and meant to be shown to the user as they are.
func ParseStatusRanges(s string) (StatusRanges, error) {
	var r StatusRanges
	if strings.TrimSpace(s) == "" {
		r.add(200, 299)
		return r, nil
	}
	// Counted before splitting so a huge string cannot make us do much.
	if n := strings.Count(s, ",") + 1; n > maxStatusParts {
		return StatusRanges{}, fmt.Errorf("too many status ranges (%d, max %d)", n, maxStatusParts)
	}
	for rest := s; ; {
		part, tail, more := strings.Cut(rest, ",")
		lo, hi, err := parseStatusPart(strings.TrimSpace(part))
		if err != nil {
			return StatusRanges{}, err
		}
		r.add(lo, hi)
		if !more {
			break
		}
		rest = tail
	}
	return r, nil
}

// parseStatusPart parses one trimmed item of the list.
func parseStatusPart(p string) (lo, hi int, err error) {
	if p == "" {
		return 0, 0, errors.New("empty status range (stray comma?)")
	}
	// "2xx" / "2XX": a whole class.
	if len(p) == 3 && (p[1] == 'x' || p[1] == 'X') && (p[2] == 'x' || p[2] == 'X') {
		if p[0] < '1' || p[0] > '5' {
			return 0, 0, fmt.Errorf("status range %s out of 100-599", quoteShort(p))
		}
		lo = int(p[0]-'0') * 100
		return lo, lo + 99, nil
	}
	a, b, isRange := strings.Cut(p, "-")
	lo, ok := parseStatusCode(strings.TrimSpace(a))
	if !ok {
		return 0, 0, fmt.Errorf("invalid status range %s", quoteShort(p))
	}
	hi = lo
	if isRange {
		if hi, ok = parseStatusCode(strings.TrimSpace(b)); !ok {
			return 0, 0, fmt.Errorf("invalid status range %s", quoteShort(p))
		}
	}
	if lo < minStatus || hi > maxStatus || hi < minStatus || lo > maxStatus {
		return 0, 0, fmt.Errorf("status range %s out of 100-599", quoteShort(p))
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("status range %s is backwards", quoteShort(p))
	}
	return lo, hi, nil
}

// parseStatusCode accepts 1 to 3 ASCII digits only: strconv.Atoi alone would
// also take signs and arbitrarily long input.
func parseStatusCode(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// quoteShort quotes user input for an error message, cut so that a long
// paste does not turn into a long error.
func quoteShort(s string) string {
	const max = 20
	if len(s) > max {
		// Cut on a rune boundary so %q does not show a broken character.
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func (r *StatusRanges) add(lo, hi int) {
	for c := lo; c <= hi; c++ {
		i := c - minStatus
		r.bits[i/64] |= 1 << (i % 64)
	}
}

// Contains reports whether code is in the set.
func (r StatusRanges) Contains(code int) bool {
	if code < minStatus || code > maxStatus {
		return false
	}
	i := code - minStatus
	return r.bits[i/64]&(1<<(i%64)) != 0
}

// String returns the canonical form: sorted, merged, comma-separated numeric
// ranges without spaces, e.g. "200-299,304". It parses back to an equal value.
// The zero value gives "".
func (r StatusRanges) String() string {
	var b strings.Builder
	for c := minStatus; c <= maxStatus; c++ {
		if !r.Contains(c) {
			continue
		}
		start := c
		for c+1 <= maxStatus && r.Contains(c+1) {
			c++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(start))
		if c > start {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(c))
		}
	}
	return b.String()
}
