package awsxrayexporter

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// docsDirEnv names a directory where every document the tests produce is
// written, one file each; tests/test_exporter.py sets it and validates them
// all against X-Ray's JSON schema.
const docsDirEnv = "XRAY_DOCS_DIR"

var (
	docsMu   sync.Mutex
	docsSeen = map[string]int{}
	unsafeFS = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)
)

// recordDocument writes raw to $XRAY_DOCS_DIR (when set) as <test>-<n>.json.
func recordDocument(t *testing.T, raw string) {
	t.Helper()
	dir := os.Getenv(docsDirEnv)
	if dir == "" {
		return
	}
	docsMu.Lock()
	name := unsafeFS.ReplaceAllString(t.Name(), "_")
	docsSeen[name]++
	n := docsSeen[name]
	docsMu.Unlock()
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%03d.json", name, n)), []byte(raw), 0o644); err != nil {
		t.Fatalf("writing document for %s: %v", docsDirEnv, err)
	}
}

// loadShape reads testdata/shapes/<name>.json: spans the pinned OpenTelemetry
// Python packages really emitted (scripts/gen_span_shapes.py).
func loadShape(t *testing.T, name string) ptrace.Traces {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "shapes", name+".json"))
	if err != nil {
		t.Fatalf("span shape %s: %v (regenerate with scripts/gen_span_shapes.py)", name, err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	if err != nil {
		t.Fatalf("span shape %s: %v", name, err)
	}
	return td
}

// converted is the documents of one conversion, by span.
type converted struct {
	t    *testing.T
	td   ptrace.Traces
	docs map[string]map[string]any
	raw  map[string]string
	logs *observer.ObservedLogs
}

func convert(t *testing.T, cfg *Config, td ptrace.Traces) *converted {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	return convertWith(t, newConverter(cfg, zap.New(core)), td, logs)
}

func convertWith(t *testing.T, conv converter, td ptrace.Traces, logs *observer.ObservedLogs) *converted {
	t.Helper()
	c := &converted{t: t, td: td, docs: map[string]map[string]any{}, raw: map[string]string{}, logs: logs}
	for _, d := range conv.documents(td) {
		recordDocument(t, d.json)
		var m map[string]any
		if err := json.Unmarshal([]byte(d.json), &m); err != nil {
			t.Fatalf("document %s: %v", d.json, err)
		}
		if len(d.json) > maxDocumentBytes {
			t.Errorf("document of %q is %d bytes, over 64 KB", d.name, len(d.json))
		}
		c.docs[d.spanID] = m
		c.raw[d.spanID] = d.json
	}
	return c
}

// span returns the n-th (0-based) span named name, optionally of one scope.
func (c *converted) span(name string, n int) ptrace.Span {
	c.t.Helper()
	seen := 0
	rss := c.td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		for j := 0; j < rss.At(i).ScopeSpans().Len(); j++ {
			spans := rss.At(i).ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if spans.At(k).Name() == name {
					if seen == n {
						return spans.At(k)
					}
					seen++
				}
			}
		}
	}
	c.t.Fatalf("no span %q #%d in the shape", name, n)
	return ptrace.Span{}
}

// doc returns the document of the n-th span named name.
func (c *converted) doc(name string, n int) map[string]any {
	c.t.Helper()
	id := c.span(name, n).SpanID().String()
	d, ok := c.docs[id]
	if !ok {
		c.t.Fatalf("span %q (%s) has no document", name, id)
	}
	return d
}

// docWith returns the only document for which pred holds.
func (c *converted) docWith(what string, pred func(map[string]any) bool) map[string]any {
	c.t.Helper()
	var found []map[string]any
	for _, d := range c.docs {
		if pred(d) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		c.t.Fatalf("%d documents are %s, want 1", len(found), what)
	}
	return found[0]
}

// path reads a nested field: path(doc, "aws", "operation").
func path(v any, keys ...any) any {
	for _, k := range keys {
		switch key := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[key]
		case int:
			s, ok := v.([]any)
			if !ok || key >= len(s) {
				return nil
			}
			v = s[key]
		}
	}
	return v
}

func str(v any, keys ...any) string {
	s, _ := path(v, keys...).(string)
	return s
}

func flag(v any, key string) bool {
	b, _ := path(v, key).(bool)
	return b
}

func want(t *testing.T, what string, got, wantValue any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(wantValue) {
		t.Errorf("%s = %v, want %v", what, got, wantValue)
	}
}

func hasSuffix(t *testing.T, what, got, suffix string) {
	t.Helper()
	if !strings.HasSuffix(got, suffix) {
		t.Errorf("%s = %q, want it to end with %q", what, got, suffix)
	}
}
