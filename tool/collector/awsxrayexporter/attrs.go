package awsxrayexporter

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// attrs reads span attributes and remembers which ones a document field took,
// so the rest can go to metadata without repeating them.
type attrs struct {
	m    pcommon.Map
	used map[string]bool
}

func newAttrs(m pcommon.Map) *attrs { return &attrs{m: m, used: map[string]bool{}} }

// get returns the first of keys that is set, marking it used.
func (a *attrs) get(keys ...string) (pcommon.Value, bool) {
	for _, k := range keys {
		if v, ok := a.m.Get(k); ok && v.Type() != pcommon.ValueTypeEmpty {
			a.used[k] = true
			return v, true
		}
	}
	return pcommon.Value{}, false
}

// str returns the first non-empty string form of keys, marking it used.
func (a *attrs) str(keys ...string) string {
	for _, k := range keys {
		if v, ok := a.m.Get(k); ok {
			if s := v.AsString(); s != "" {
				a.used[k] = true
				return s
			}
		}
	}
	return ""
}

// peek is str without marking the attribute used.
func (a *attrs) peek(keys ...string) string {
	for _, k := range keys {
		if v, ok := a.m.Get(k); ok {
			if s := v.AsString(); s != "" {
				return s
			}
		}
	}
	return ""
}

// integer returns the first of keys that holds a number (or a numeric string).
func (a *attrs) integer(keys ...string) (int64, bool) {
	for _, k := range keys {
		v, ok := a.m.Get(k)
		if !ok {
			continue
		}
		if n, ok := intValue(v); ok {
			a.used[k] = true
			return n, true
		}
	}
	return 0, false
}

func intValue(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		if math.IsNaN(v.Double()) || math.IsInf(v.Double(), 0) {
			return 0, false
		}
		return int64(v.Double()), true
	case pcommon.ValueTypeStr:
		n, err := strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64)
		return n, err == nil
	default:
		return 0, false
	}
}

// strings returns a string-slice attribute (or a single string as a slice).
func (a *attrs) strings(keys ...string) []string {
	v, ok := a.get(keys...)
	if !ok {
		return nil
	}
	return stringSlice(v)
}

func stringSlice(v pcommon.Value) []string {
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		out := make([]string, 0, v.Slice().Len())
		for i := 0; i < v.Slice().Len(); i++ {
			if s := v.Slice().At(i).AsString(); s != "" {
				out = append(out, s)
			}
		}
		return out
	case pcommon.ValueTypeStr:
		if v.Str() == "" {
			return nil
		}
		return []string{v.Str()}
	default:
		return nil
	}
}

// truncate cuts s to at most n characters (runes), the unit of the schema's
// maxLength.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// sanitizeName keeps the characters X-Ray accepts in segment names (Unicode
// letters, numbers and separators, and _ . : / % & # = + \ - @), replaces other
// whitespace with a space, and cuts the name at 200 characters.
func sanitizeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.In(r, unicode.Z):
			b.WriteRune(r)
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		case strings.ContainsRune(`_.:/%&#=+\-@`, r):
			b.WriteRune(r)
		}
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		return defaultName
	}
	return truncate(s, maxNameLength)
}

// annotationKey keeps the characters X-Ray accepts in annotation keys (ASCII
// letters, digits, underscore and, with allowDots, the dot; at most 500) and
// replaces every other one with an underscore.
func annotationKey(k string, allowDots bool) string {
	s := strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || (allowDots && r == '.')) {
			return r
		}
		return '_'
	}, k)
	return truncate(s, maxAnnotationKey)
}

// annotationValue returns the value if X-Ray can index it (string, finite
// number, bool), else nil. Strings are cut at X-Ray's 1000 characters.
func annotationValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return truncate(v.Str(), maxAnnotationValue)
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		if math.IsNaN(v.Double()) || math.IsInf(v.Double(), 0) {
			return nil
		}
		return v.Double()
	default:
		return nil
	}
}

// metadataValue is the attribute's JSON form. JSON has no NaN or infinity, and
// one such value would make the whole document fail to serialise: those become
// the strings "NaN", "+Inf" and "-Inf".
func metadataValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeDouble:
		return finite(v.Double())
	case pcommon.ValueTypeSlice:
		out := make([]any, v.Slice().Len())
		for i := range out {
			out[i] = metadataValue(v.Slice().At(i))
		}
		return out
	case pcommon.ValueTypeMap:
		out := make(map[string]any, v.Map().Len())
		v.Map().Range(func(k string, e pcommon.Value) bool {
			out[k] = metadataValue(e)
			return true
		})
		return out
	default:
		return v.AsRaw()
	}
}

func finite(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}
