package awsxrayexporter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var (
	testTraceID = pcommon.TraceID{0x6b, 0x06, 0xf5, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	testSpanID  = pcommon.SpanID{0xa1, 0, 0, 0, 0, 0, 0, 1}
	testParent  = pcommon.SpanID{0xb2, 0, 0, 0, 0, 0, 0, 2}
)

func newTraces(setup func(res pcommon.Map, span ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(testTraceID)
	span.SetSpanID(testSpanID)
	start := time.Unix(1795618285, 123456789)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1500 * time.Microsecond)))
	setup(rs.Resource().Attributes(), span)
	return td
}

func convertOne(t *testing.T, cfg *Config, td ptrace.Traces) map[string]any {
	t.Helper()
	docs := newConverter(cfg).documents(td)
	if len(docs) != 1 {
		t.Fatalf("documents = %d, want 1", len(docs))
	}
	var seg map[string]any
	if err := json.Unmarshal([]byte(docs[0]), &seg); err != nil {
		t.Fatalf("document %s: %v", docs[0], err)
	}
	return seg
}

func TestServerSpanBecomesSegment(t *testing.T) {
	td := newTraces(func(res pcommon.Map, span ptrace.Span) {
		res.PutStr("service.name", "orders")
		res.PutStr("service.version", "1.2.3")
		res.PutStr("cloud.platform", "aws_lambda")
		res.PutStr("telemetry.sdk.language", "python")
		span.SetName("GET /orders")
		span.SetKind(ptrace.SpanKindServer)
		span.SetParentSpanID(testParent)
		span.Attributes().PutStr("http.request.method", "GET")
		span.Attributes().PutStr("url.full", "https://api.example.com/orders?id=1")
		span.Attributes().PutInt("http.response.status_code", 200)
		span.Attributes().PutStr("app.tenant", "acme")
	})
	seg := convertOne(t, &Config{}, td)

	want := map[string]any{
		"name":      "orders",
		"id":        "a100000000000001",
		"trace_id":  "1-6b06f5ed-0102030405060708090a0b0c",
		"parent_id": "b200000000000002",
		"origin":    "AWS::Lambda::Function",
	}
	for k, v := range want {
		if seg[k] != v {
			t.Errorf("%s = %v, want %v", k, seg[k], v)
		}
	}
	if _, ok := seg["type"]; ok {
		t.Errorf("a segment must not have type: %v", seg["type"])
	}
	if seg["start_time"].(float64) != 1795618285.123456 || seg["end_time"].(float64) != 1795618285.124956 {
		t.Errorf("times = %v .. %v", seg["start_time"], seg["end_time"])
	}
	httpInfo := seg["http"].(map[string]any)
	if req := httpInfo["request"].(map[string]any); req["method"] != "GET" || req["url"] != "https://api.example.com/orders?id=1" {
		t.Errorf("http.request = %v", req)
	}
	if resp := httpInfo["response"].(map[string]any); resp["status"] != float64(200) {
		t.Errorf("http.response = %v", resp)
	}
	if seg["service"].(map[string]any)["version"] != "1.2.3" {
		t.Errorf("service = %v", seg["service"])
	}
	if md := seg["metadata"].(map[string]any)["default"].(map[string]any); md["app.tenant"] != "acme" || md["http.request.method"] != nil {
		t.Errorf("metadata = %v", md)
	}
	if seg["aws"].(map[string]any)["xray"].(map[string]any)["sdk"] != "opentelemetry for python" {
		t.Errorf("aws = %v", seg["aws"])
	}
	for _, flag := range []string{"error", "fault", "throttle"} {
		if _, ok := seg[flag]; ok {
			t.Errorf("%s set on a successful span", flag)
		}
	}
}

func TestInternalChildBecomesSubsegment(t *testing.T) {
	td := newTraces(func(_ pcommon.Map, span ptrace.Span) {
		span.SetName("compute total!")
		span.SetKind(ptrace.SpanKindInternal)
		span.SetParentSpanID(testParent)
	})
	seg := convertOne(t, &Config{}, td)
	if seg["type"] != "subsegment" || seg["parent_id"] != "b200000000000002" || seg["name"] != "compute total" {
		t.Errorf("subsegment = %v", seg)
	}
}

func TestAWSClientSpan(t *testing.T) {
	td := newTraces(func(res pcommon.Map, span ptrace.Span) {
		res.PutStr("cloud.region", "us-east-1")
		span.SetName("DynamoDB.GetItem")
		span.SetKind(ptrace.SpanKindClient)
		span.SetParentSpanID(testParent)
		span.Attributes().PutStr("rpc.system", "aws-api")
		span.Attributes().PutStr("rpc.service", "DynamoDB")
		span.Attributes().PutStr("rpc.method", "GetItem")
		span.Attributes().PutStr("aws.request_id", "REQ1")
		span.Attributes().PutEmptySlice("aws.dynamodb.table_names").AppendEmpty().SetStr("orders")
	})
	seg := convertOne(t, &Config{}, td)
	if seg["name"] != "DynamoDB" || seg["namespace"] != "aws" || seg["type"] != "subsegment" {
		t.Errorf("segment = %v", seg)
	}
	aws := seg["aws"].(map[string]any)
	if aws["operation"] != "GetItem" || aws["request_id"] != "REQ1" || aws["table_name"] != "orders" || aws["region"] != "us-east-1" {
		t.Errorf("aws = %v", aws)
	}
}

func TestErrorsFaultsAndCause(t *testing.T) {
	cases := []struct {
		status               int64
		spanError            bool
		err, fault, throttle bool
	}{
		{status: 404, err: true},
		{status: 429, err: true, throttle: true},
		{status: 503, fault: true},
		{spanError: true, fault: true},
	}
	for _, c := range cases {
		td := newTraces(func(_ pcommon.Map, span ptrace.Span) {
			span.SetKind(ptrace.SpanKindServer)
			if c.status != 0 {
				span.Attributes().PutInt("http.response.status_code", c.status)
			}
			if c.spanError {
				span.Status().SetCode(ptrace.StatusCodeError)
				ev := span.Events().AppendEmpty()
				ev.SetName("exception")
				ev.Attributes().PutStr("exception.type", "ValueError")
				ev.Attributes().PutStr("exception.message", "bad input")
			}
		})
		seg := convertOne(t, &Config{}, td)
		got := func(k string) bool { b, _ := seg[k].(bool); return b }
		if got("error") != c.err || got("fault") != c.fault || got("throttle") != c.throttle {
			t.Errorf("status %d/spanError %v: error=%v fault=%v throttle=%v", c.status, c.spanError, seg["error"], seg["fault"], seg["throttle"])
		}
		if c.spanError {
			ex := seg["cause"].(map[string]any)["exceptions"].([]any)[0].(map[string]any)
			if ex["type"] != "ValueError" || ex["message"] != "bad input" || len(ex["id"].(string)) != 16 {
				t.Errorf("cause = %v", seg["cause"])
			}
		}
	}
}

func TestAnnotations(t *testing.T) {
	td := newTraces(func(_ pcommon.Map, span ptrace.Span) {
		span.SetKind(ptrace.SpanKindServer)
		span.Attributes().PutStr("app.greeting.name", "world")
		span.Attributes().PutInt("app.count", 3)
		span.Attributes().PutStr("other", "x")
		span.Attributes().PutEmptySlice(annotationsAttr).AppendEmpty().SetStr("app.count")
	})
	seg := convertOne(t, &Config{IndexedAttributes: []string{"app.greeting.name"}}, td)
	ann := seg["annotations"].(map[string]any)
	if ann["app_greeting_name"] != "world" || ann["app_count"] != float64(3) || ann["other"] != nil {
		t.Errorf("annotations = %v", ann)
	}
	md := seg["metadata"].(map[string]any)["default"].(map[string]any)
	if md["other"] != "x" || md[annotationsAttr] != nil {
		t.Errorf("metadata = %v", md)
	}

	all := convertOne(t, &Config{IndexAllAttributes: true}, td)
	if all["annotations"].(map[string]any)["other"] != "x" {
		t.Errorf("index_all_attributes annotations = %v", all["annotations"])
	}
}

func TestSanitizeName(t *testing.T) {
	if got := sanitizeName("  "); got != defaultName {
		t.Errorf("empty name -> %q", got)
	}
	if got := sanitizeName("GET /a?b=<c>"); got != "GET /ab=c" {
		t.Errorf("sanitizeName = %q", got)
	}
	if got := sanitizeName(strings.Repeat("x", 300)); len(got) != maxNameLength {
		t.Errorf("len = %d", len(got))
	}
}
