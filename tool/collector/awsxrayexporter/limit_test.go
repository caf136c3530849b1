package awsxrayexporter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestOversizeDocumentIsTrimmedAndLogged(t *testing.T) {
	td := loadShape(t, "handler_raises_chained")
	span := convert(t, &Config{}, td).span("order_service.build_response", 0)
	span.Attributes().PutStr("app.small", "kept")
	for i := 0; i < 40; i++ {
		span.Attributes().PutStr(fmt.Sprintf("app.payload.%02d", i), strings.Repeat("p", 4000))
	}
	span.Attributes().PutStr("app.indexed", strings.Repeat("i", 900))

	c := convert(t, defaultConfig(func(c *Config) { c.IndexedAttributes = []string{"app.indexed"} }), td)
	raw := c.raw[span.SpanID().String()]
	if len(raw) > maxDocumentBytes {
		t.Fatalf("document is %d bytes", len(raw))
	}
	d := c.doc("order_service.build_response", 0)
	want(t, "small attribute kept", str(d, "metadata", "default", "app.small"), "kept")
	want(t, "annotation kept (metadata goes first)", len(str(d, "annotations", "app.indexed")), 900)
	want(t, "cause kept", len(path(d, "cause", "exceptions").([]any)), 3)
	removed, _ := path(d, "metadata", "otel.trimmed", "removed").([]any)
	if len(removed) == 0 || !strings.HasPrefix(removed[0].(string), "metadata.default.app.payload.") {
		t.Errorf("otel.trimmed = %v", path(d, "metadata", "otel.trimmed"))
	}
	if n, _ := path(d, "metadata", "otel.trimmed", "original_bytes").(float64); n <= maxDocumentBytes {
		t.Errorf("original_bytes = %v", n)
	}
	logged := c.logs.FilterMessage("X-Ray segment document over 64 KB: trimmed to fit").All()
	if len(logged) != 1 || logged[0].ContextMap()["name"] != "order_service.build_response" {
		t.Fatalf("log = %v", c.logs.All())
	}
}

func TestOversizeStackIsTruncated(t *testing.T) {
	td := loadShape(t, "handler_raises_chained")
	span := convert(t, &Config{}, td).span("order_service.build_response", 0)
	ev := span.Events().At(0)
	var tb strings.Builder
	tb.WriteString("Traceback (most recent call last):\n")
	for i := 0; i < 3000; i++ {
		fmt.Fprintf(&tb, "  File \"/var/task/order_service/deep/module_%04d.py\", line %d, in recurse_%d\n    recurse()\n", i, i+1, i)
	}
	tb.WriteString("RecursionError: maximum recursion depth exceeded\n")
	ev.Attributes().PutStr("exception.stacktrace", tb.String())
	c := convert(t, &Config{}, td)
	d := c.doc("order_service.build_response", 0)
	ex := path(d, "cause", "exceptions", 0)
	frames := path(ex, "stack").([]any)
	truncated, _ := path(ex, "truncated").(float64)
	if len(frames) == 0 || len(frames) > maxFrames || int(truncated)+len(frames) != 3000 {
		t.Fatalf("%d frames kept, truncated = %v", len(frames), truncated)
	}
	want(t, "innermost frame kept", str(ex, "stack", 0, "label"), "recurse_2999")
}

func TestUnserialisableSpanIsLoggedNotSilentlyDropped(t *testing.T) {
	td := loadShape(t, "api_gateway_orders")
	core, logs := observer.New(zap.DebugLevel)
	conv := newConverter(&Config{}, zap.New(core))
	conv.marshal = func(v any) ([]byte, error) {
		if s, ok := v.(*segment); ok && s.Name == "STS" {
			return nil, errors.New("simulated encoder failure")
		}
		return json.Marshal(v)
	}
	c := convertWith(t, conv, td, logs)
	if len(c.docs) != td.SpanCount()-1 {
		t.Fatalf("%d documents for %d spans", len(c.docs), td.SpanCount())
	}
	entries := logs.FilterMessage("span not exported: no valid X-Ray segment document").All()
	if len(entries) != 1 {
		t.Fatalf("logs = %v", logs.All())
	}
	fields := entries[0].ContextMap()
	want(t, "span_name", fields["span_name"], "STS.GetCallerIdentity")
	want(t, "error", fields["error"], "simulated encoder failure")
	if fields["trace_id"] == "" || fields["span_id"] == "" {
		t.Errorf("fields = %v", fields)
	}
}
