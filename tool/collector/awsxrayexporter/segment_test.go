package awsxrayexporter

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Every test here converts span shapes the pinned OpenTelemetry Python
// packages really emitted (testdata/shapes, from scripts/gen_span_shapes.py),
// changed only where a test says so.

var (
	hex16   = regexp.MustCompile(`^[0-9a-f]{16}$`)
	traceID = regexp.MustCompile(`^1-[0-9a-f]{8}-[0-9a-f]{24}$`)
)

var allShapes = []string{
	"api_gateway_orders", "api_gateway_orders_stable_http", "handler_raises_chained",
	"http_api_downstream_errors", "http_api_downstream_errors_stable_http",
	"sqs_producer", "sqs_receive_outside_lambda", "sqs_consumer_batch",
}

// lambdaConfig is the template's exporter configuration (its defaults included).
func lambdaConfig() *Config {
	return defaultConfig(func(c *Config) {
		c.AWSLogGroups = []string{"/aws/lambda/order-service"}
		c.IndexedAttributes = []string{"app.greeting.name"}
	})
}

func TestEveryShapeConverts(t *testing.T) {
	for _, name := range allShapes {
		t.Run(name, func(t *testing.T) {
			td := loadShape(t, name)
			c := convert(t, lambdaConfig(), td)
			if want := td.SpanCount() + rootCalls(td); len(c.docs) != want {
				t.Fatalf("%d documents for %d spans (%d root calls)", len(c.docs), td.SpanCount(), rootCalls(td))
			}
			for id, d := range c.docs {
				if !hex16.MatchString(str(d, "id")) || str(d, "id") != id || !traceID.MatchString(str(d, "trace_id")) {
					t.Errorf("ids of %v", d)
				}
				if p, ok := d["parent_id"]; ok && !hex16.MatchString(p.(string)) {
					t.Errorf("parent_id of %v", d)
				}
				if d["type"] == "subsegment" && d["parent_id"] == nil {
					t.Errorf("independent subsegment without parent_id: %v", d)
				}
				if _, ok := d["end_time"]; !ok && !flag(d, "in_progress") {
					t.Errorf("neither end_time nor in_progress: %v", d)
				}
			}
			if c.logs.Len() != 0 {
				t.Errorf("unexpected log lines: %v", c.logs.All())
			}
		})
	}
}

// rootCalls counts CLIENT/PRODUCER spans without a parent (two documents each).
func rootCalls(td ptrace.Traces) int {
	n := 0
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		for j := 0; j < td.ResourceSpans().At(i).ScopeSpans().Len(); j++ {
			spans := td.ResourceSpans().At(i).ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				kind := spans.At(k).Kind()
				if spans.At(k).ParentSpanID().IsEmpty() && (kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer) {
					n++
				}
			}
		}
	}
	return n
}

func TestRootCallGetsAServiceSegment(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "sqs_producer"))
	call := c.doc("SQS.PurgeQueue", 0)
	want(t, "call type", call["type"], "subsegment")
	want(t, "call name", call["name"], "SQS")
	want(t, "call namespace", call["namespace"], "aws")
	want(t, "call operation", str(call, "aws", "operation"), "PurgeQueue")
	svc := c.docs[str(call, "parent_id")]
	if svc == nil {
		t.Fatalf("no document for the call's parent %v", call["parent_id"])
	}
	want(t, "service segment name", svc["name"], "order-service")
	if _, ok := svc["type"]; ok || svc["parent_id"] != nil {
		t.Errorf("service segment must be a root segment: %v", svc)
	}
	want(t, "same trace", svc["trace_id"], call["trace_id"])
	want(t, "same start", svc["start_time"], call["start_time"])
	want(t, "log group", str(svc, "aws", "cloudwatch_logs", 0, "log_group"), "/aws/lambda/order-service")
	if svc["http"] != nil || path(svc, "aws", "operation") != nil {
		t.Errorf("the call's fields belong on the subsegment: %v", svc)
	}
}

func TestLambdaHandlerIsASegmentWithoutLambdasOrigin(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "api_gateway_orders"))
	span := c.span("order-service", 0)
	h := c.doc("order-service", 0)
	want(t, "name", h["name"], "order-service")
	want(t, "parent_id (Lambda's function segment, from the trace header)", h["parent_id"], span.ParentSpanID().String())
	if _, ok := h["type"]; ok {
		t.Errorf("the handler span must be a segment: %v", h)
	}
	if _, ok := h["origin"]; ok {
		t.Errorf("origin %v: Lambda's own function segment is the AWS::Lambda::Function node", h["origin"])
	}
	want(t, "aws.account_id", str(h, "aws", "account_id"), "123456789012")
	want(t, "aws.xray.sdk", str(h, "aws", "xray", "sdk"), "opentelemetry for python")
	want(t, "aws.xray.sdk_version", str(h, "aws", "xray", "sdk_version"), "1.45.1")
	want(t, "resource in metadata", str(h, "metadata", "default", "otel.resource.faas.name"), "order-service")
	want(t, "unused span attribute in metadata", str(h, "metadata", "default", "http.route"), "/orders")
	greet := c.doc("order_service.greet", 0)
	want(t, "greet type", greet["type"], "subsegment")
	want(t, "greet parent", greet["parent_id"], h["id"])
	want(t, "greet annotations", greet["annotations"], map[string]any{"app.greeting.name": "OpenTelemetry"})
	if path(greet, "metadata", "default", "otel.resource.faas.name") != nil {
		t.Errorf("resource attributes belong on segments only: %v", greet["metadata"])
	}
}

func TestEnduserIDIsTheUser(t *testing.T) {
	h := convert(t, lambdaConfig(), loadShape(t, "api_gateway_orders")).doc("order-service", 0)
	want(t, "user", h["user"], "customer-42")
	if path(h, "metadata", "default", "enduser.id") != nil {
		t.Errorf("enduser.id repeated in metadata")
	}
	indexed := convert(t, defaultConfig(func(c *Config) { c.IndexedAttributes = []string{"enduser.id"} }), loadShape(t, "api_gateway_orders")).doc("order-service", 0)
	want(t, "user (indexed too)", indexed["user"], "customer-42")
	want(t, "annotation", path(indexed, "annotations", "enduser.id"), "customer-42")
}

func TestServerRequestURLAndClient(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "api_gateway_orders"))
	h := c.doc("order-service", 0)
	want(t, "url from scheme, host and target (with the query)", str(h, "http", "request", "url"),
		"https://abc123.execute-api.us-east-1.amazonaws.com/orders?id=o-1")
	want(t, "method", str(h, "http", "request", "method"), "GET")
	want(t, "user_agent", str(h, "http", "request", "user_agent"), "curl/8.5.0")
	want(t, "status", path(h, "http", "response", "status"), 200)

	// WSGI, default (old) conventions: the socket peer is the client.
	old := convert(t, lambdaConfig(), loadShape(t, "http_api_downstream_errors")).doc("GET /stock", 0)
	want(t, "client_ip from net.peer.ip", str(old, "http", "request", "client_ip"), "127.0.0.1")
	if flag(path(old, "http", "request"), "x_forwarded_for") {
		t.Errorf("x_forwarded_for set for a socket address")
	}
	want(t, "http.url as recorded", str(old, "http", "request", "url"), "http://127.0.0.1:"+strings.Split(str(old, "http", "request", "url"), ":")[2])
	// WSGI, stable conventions: client.address without a peer address may be forwarded.
	stable := convert(t, lambdaConfig(), loadShape(t, "http_api_downstream_errors_stable_http")).doc("GET /stock", 0)
	want(t, "client_ip from client.address", str(stable, "http", "request", "client_ip"), "127.0.0.1")
	want(t, "x_forwarded_for", path(stable, "http", "request", "x_forwarded_for"), true)
	want(t, "server.address already holding the port is not given a second one",
		strings.Count(str(stable, "http", "request", "url"), ":"), 2)
}

func TestURLsDropDefaultPortsAndKeepTheQuery(t *testing.T) {
	cases := []struct {
		name  string
		attrs map[string]any
		url   string
	}{
		{"url.path+url.query on https:443", map[string]any{"url.scheme": "https", "server.address": "api.example.com", "server.port": 443, "url.path": "/inventory", "url.query": "sku=A1&limit=10"}, "https://api.example.com/inventory?sku=A1&limit=10"},
		{"http:80", map[string]any{"url.scheme": "http", "server.address": "api.example.com", "server.port": 80, "url.path": "/a"}, "http://api.example.com/a"},
		{"other port kept", map[string]any{"url.scheme": "https", "server.address": "api.example.com", "server.port": 8443, "url.path": "/a"}, "https://api.example.com:8443/a"},
		{"url.full with :443", map[string]any{"url.full": "https://api.example.com:443/a?b=1"}, "https://api.example.com/a?b=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			td := loadShape(t, "http_api_downstream_errors_stable_http")
			c := convert(t, lambdaConfig(), td)
			span := c.span("order-service", 0)
			span.Attributes().RemoveIf(func(k string, _ pcommon.Value) bool {
				return strings.HasPrefix(k, "http.") || strings.HasPrefix(k, "net.")
			})
			span.Attributes().PutStr("http.request.method", "GET")
			_ = span.Attributes().FromRaw(merge(span.Attributes().AsRaw(), tc.attrs))
			got := convert(t, lambdaConfig(), td).doc("order-service", 0)
			want(t, "url", str(got, "http", "request", "url"), tc.url)
		})
	}
}

func merge(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestForwardedClientAddress(t *testing.T) {
	cases := []struct {
		name     string
		attrs    map[string]any
		clientIP string
		xff      bool
	}{
		{"http.client_ip from X-Forwarded-For", map[string]any{"http.client_ip": "203.0.113.7", "net.peer.ip": "10.0.0.2"}, "203.0.113.7", true},
		{"client.address equal to the peer", map[string]any{"client.address": "10.0.0.2", "network.peer.address": "10.0.0.2"}, "10.0.0.2", false},
		{"network.peer.address only", map[string]any{"network.peer.address": "10.0.0.3"}, "10.0.0.3", false},
		{"a forwarded list keeps the original client", map[string]any{"client.address": "203.0.113.7, 198.51.100.2"}, "203.0.113.7", true},
		{"a captured X-Forwarded-For header", map[string]any{"http.request.header.x_forwarded_for": []any{"203.0.113.9, 10.0.0.1"}, "net.peer.ip": "10.0.0.1"}, "203.0.113.9", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			td := loadShape(t, "api_gateway_orders")
			span := convert(t, lambdaConfig(), td).span("order-service", 0)
			_ = span.Attributes().FromRaw(merge(span.Attributes().AsRaw(), tc.attrs))
			req := path(convert(t, lambdaConfig(), td).doc("order-service", 0), "http", "request")
			want(t, "client_ip", str(req, "client_ip"), tc.clientIP)
			want(t, "x_forwarded_for", flag(req, "x_forwarded_for"), tc.xff)
		})
	}
}

func TestAWSSDKCalls(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "api_gateway_orders"))
	put := c.doc("DynamoDB.PutItem", 0)
	want(t, "name", put["name"], "DynamoDB")
	want(t, "namespace", put["namespace"], "aws")
	want(t, "type", put["type"], "subsegment")
	want(t, "operation", str(put, "aws", "operation"), "PutItem")
	want(t, "table_name", str(put, "aws", "table_name"), "orders")
	want(t, "region", str(put, "aws", "region"), "us-east-1")
	want(t, "request_id", str(put, "aws", "request_id"), c.span("DynamoDB.PutItem", 0).Attributes().AsRaw()["aws.request_id"])
	if put["sql"] != nil {
		t.Errorf("DynamoDB is not SQL: sql = %v", put["sql"])
	}

	batch := c.doc("DynamoDB.BatchGetItem", 0)
	want(t, "table_names of a multi-table call", path(batch, "aws", "table_names"), []any{"orders", "customers"})
	if path(batch, "aws", "table_name") != nil {
		t.Errorf("table_name beside table_names: %v", batch["aws"])
	}
	want(t, "region of a cross-region call (the span's, not the function's)",
		str(c.doc("DynamoDB.DescribeTable", 0), "aws", "region"), "eu-west-1")

	sqs := c.doc("SQS.SendMessage", 0)
	hasSuffix(t, "queue_url", str(sqs, "aws", "queue_url"), "/123456789012/order-events")
	want(t, "account_id of the queue's owner", str(sqs, "aws", "account_id"), "123456789012")

	// The current semantic convention's key, with a real AWS queue URL.
	td := loadShape(t, "api_gateway_orders")
	span := convert(t, &Config{}, td).span("SQS.SendMessage", 0)
	span.Attributes().Remove("aws.queue_url")
	span.Attributes().Remove("messaging.url")
	span.Attributes().PutStr("aws.sqs.queue.url", "https://sqs.eu-west-1.amazonaws.com/210987654321/orders")
	semconv := convert(t, &Config{}, td).doc("SQS.SendMessage", 0)
	want(t, "aws.sqs.queue.url", str(semconv, "aws", "queue_url"), "https://sqs.eu-west-1.amazonaws.com/210987654321/orders")
	want(t, "its account", str(semconv, "aws", "account_id"), "210987654321")
	want(t, "STS", c.doc("STS.GetCallerIdentity", 0)["name"], "STS")
	want(t, "S3 operation", str(c.doc("S3.PutObject", 0), "aws", "operation"), "PutObject")
}

func TestUsedAttributesCanBeAnnotations(t *testing.T) {
	cfg := defaultConfig(func(c *Config) { c.IndexedAttributes = []string{"rpc.method", "aws.request_id", "http.status_code"} })
	c := convert(t, cfg, loadShape(t, "api_gateway_orders"))
	get := c.doc("DynamoDB.GetItem", 0)
	want(t, "rpc.method annotation", path(get, "annotations", "rpc.method"), "GetItem")
	want(t, "aws.request_id annotation", path(get, "annotations", "aws.request_id"), str(get, "aws", "request_id"))
	want(t, "http.status_code annotation", path(get, "annotations", "http.status_code"), 200)
	want(t, "operation still filled", str(get, "aws", "operation"), "GetItem")

	// aws.xray.annotations on the span works the same way.
	td := loadShape(t, "api_gateway_orders")
	span := convert(t, &Config{}, td).span("DynamoDB.GetItem", 0)
	span.Attributes().PutEmptySlice(annotationsAttr).AppendEmpty().SetStr("rpc.service")
	got := convert(t, defaultConfig(nil), td).doc("DynamoDB.GetItem", 0)
	want(t, "annotation from aws.xray.annotations", got["annotations"], map[string]any{"rpc.service": "DynamoDB"})

	all := convert(t, defaultConfig(func(c *Config) { c.IndexAllAttributes = true }), loadShape(t, "api_gateway_orders")).doc("DynamoDB.GetItem", 0)
	want(t, "index_all_attributes: the unused ones", path(all, "annotations", "db.operation"), "GetItem")
	if path(all, "annotations", "rpc.method") != nil {
		t.Errorf("index_all_attributes also indexed a used attribute: %v", all["annotations"])
	}
}

func TestSQLOnlyForSQLEngines(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "api_gateway_orders"))
	pg := c.doc("SELECT orders", 0)
	want(t, "postgresql name", pg["name"], "shop@shop.cluster-abc.us-east-1.rds.amazonaws.com")
	want(t, "namespace", pg["namespace"], "remote")
	want(t, "database_type", str(pg, "sql", "database_type"), "postgresql")
	want(t, "sanitized_query", str(pg, "sql", "sanitized_query"), "SELECT id, total FROM orders WHERE id = %s")
	want(t, "user", str(pg, "sql", "user"), "app")
	want(t, "url", str(pg, "sql", "url"), "postgresql://shop.cluster-abc.us-east-1.rds.amazonaws.com:5432/shop")
	lite := c.doc("SELECT", 0)
	want(t, "sqlite database_type", str(lite, "sql", "database_type"), "sqlite")
	want(t, "sqlite query", str(lite, "sql", "sanitized_query"), "SELECT id, total FROM orders WHERE id = ?")
	for _, name := range []string{"DynamoDB.PutItem", "DynamoDB.GetItem", "DynamoDB.BatchGetItem", "DynamoDB.DescribeTable"} {
		if d := c.doc(name, 0); d["sql"] != nil {
			t.Errorf("%s has an sql block: %v", name, d["sql"])
		}
	}
}

func TestHTTPClientCallsErrorThrottleFault(t *testing.T) {
	for _, shape := range []string{"http_api_downstream_errors", "http_api_downstream_errors_stable_http"} {
		t.Run(shape, func(t *testing.T) {
			c := convert(t, lambdaConfig(), loadShape(t, shape))
			byURL := func(part string) map[string]any {
				return c.docWith("calls to "+part, func(d map[string]any) bool {
					return d["type"] == "subsegment" && strings.Contains(str(d, "http", "request", "url"), part)
				})
			}
			throttled := byURL("/rate-limited")
			want(t, "429 error", flag(throttled, "error"), true)
			want(t, "429 throttle", flag(throttled, "throttle"), true)
			want(t, "429 fault", flag(throttled, "fault"), false)
			want(t, "name (the host)", throttled["name"], "127.0.0.1")
			want(t, "namespace", throttled["namespace"], "remote")
			hasSuffix(t, "url keeps its query", str(throttled, "http", "request", "url"), "/rate-limited?attempt=1")
			unavailable := byURL("/unavailable")
			want(t, "503 fault", flag(unavailable, "fault"), true)
			want(t, "503 error", flag(unavailable, "error"), false)
			missing := byURL("/missing")
			want(t, "404 error", flag(missing, "error"), true)
			want(t, "404 throttle", flag(missing, "throttle"), false)
			h := c.doc("order-service", 0)
			want(t, "handler answered 502: fault", flag(h, "fault"), true)
			want(t, "HTTP API url", str(h, "http", "request", "url"), "http://api.example.com/inventory?sku=A1&limit=10")
		})
	}
}

func TestPythonTracebackBecomesStackFramesAndCauseChain(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "handler_raises_chained"))
	for _, name := range []string{"order_service.build_response", "order-service"} {
		d := c.doc(name, 0)
		want(t, name+" fault", flag(d, "fault"), true)
		exs, _ := path(d, "cause", "exceptions").([]any)
		if len(exs) != 3 {
			t.Fatalf("%s: %d exceptions, want RuntimeError <- LookupError <- KeyError: %v", name, len(exs), d["cause"])
		}
		top, mid, root := exs[0], exs[1], exs[2]
		want(t, "top type", str(top, "type"), "RuntimeError")
		want(t, "top message", str(top, "message"), "could not build the response")
		want(t, "top caused by the LookupError", str(top, "cause"), str(mid, "id"))
		hasSuffix(t, "middle type", str(mid, "type"), "LookupError")
		want(t, "middle message", str(mid, "message"), "order o-404 not found")
		want(t, "middle caused by the KeyError", str(mid, "cause"), str(root, "id"))
		want(t, "root type", str(root, "type"), "KeyError")
		want(t, "root message", str(root, "message"), "'o-404'")
		if str(root, "cause") != "" {
			t.Errorf("the first exception has no cause: %v", root)
		}
		for i, ex := range exs {
			if !hex16.MatchString(str(ex, "id")) {
				t.Errorf("exception %d id %q", i, str(ex, "id"))
			}
			frames, _ := path(ex, "stack").([]any)
			if len(frames) == 0 {
				t.Fatalf("exception %d has no stack: %v", i, ex)
			}
			for _, f := range frames {
				if str(f, "path") == "" || path(f, "line") == nil || str(f, "label") == "" {
					t.Errorf("frame without path, line or label: %v", f)
				}
			}
		}
		// Innermost frame first: where each exception was raised.
		want(t, "KeyError raised in", str(root, "stack", 0, "label"), "load_order")
		hasSuffix(t, "KeyError file", str(root, "stack", 0, "path"), "gen_span_shapes.py")
		want(t, "RuntimeError raised in", str(top, "stack", 0, "label"), "failing_body")
		if n, _ := path(root, "stack", 0, "line").(float64); n <= 0 {
			t.Errorf("line %v", path(root, "stack", 0, "line"))
		}
	}
	aws := c.doc("DynamoDB.GetItem", 0)
	want(t, "AWS SDK 400: error", flag(aws, "error"), true)
	want(t, "exception of a CLIENT call is remote", path(aws, "cause", "exceptions", 0, "remote"), true)
	want(t, "its type", str(aws, "cause", "exceptions", 0, "type"), "botocore.errorfactory.ResourceNotFoundException")
	if path(aws, "cause", "exceptions", 0, "stack") == nil {
		t.Errorf("no stack for the botocore error")
	}
	if path(c.doc("order-service", 0), "cause", "exceptions", 0, "remote") != nil {
		t.Errorf("an exception of the function itself is not remote")
	}
}

func TestHandledExceptionOnAnOKSpanIsKept(t *testing.T) {
	d := convert(t, lambdaConfig(), loadShape(t, "api_gateway_orders")).doc("order_service.parse_coupon", 0)
	for _, f := range []string{"error", "fault", "throttle"} {
		if flag(d, f) {
			t.Errorf("%s set on a span that did not fail", f)
		}
	}
	want(t, "type", str(d, "cause", "exceptions", 0, "type"), "ValueError")
	want(t, "message", str(d, "cause", "exceptions", 0, "message"), "invalid literal for int() with base 10: 'SPRING-SALE'")
	want(t, "raised in", str(d, "cause", "exceptions", 0, "stack", 0, "label"), "orders_body")
}

func TestProducerSpansAreRemote(t *testing.T) {
	td := loadShape(t, "sqs_producer")
	c := convert(t, lambdaConfig(), td)
	span := c.span("publish order-events", 0)
	ev := span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "ConnectionError")
	ev.Attributes().PutStr("exception.message", "queue unreachable")
	span.Status().SetCode(ptrace.StatusCodeError)
	d := convert(t, lambdaConfig(), td).doc("publish order-events", 0)
	want(t, "type", d["type"], "subsegment")
	want(t, "namespace", d["namespace"], "remote")
	want(t, "name: the destination", d["name"], "order-events")
	want(t, "exception remote", path(d, "cause", "exceptions", 0, "remote"), true)
	want(t, "fault", flag(d, "fault"), true)
}

func TestConsumersAndLinks(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "sqs_consumer_batch"))
	h := c.doc("order-service", 0)
	if _, ok := h["type"]; ok {
		t.Errorf("handler of an SQS trigger must be a segment: %v", h)
	}
	process := c.doc("process order-events", 0)
	want(t, "CONSUMER under a local parent: subsegment", process["type"], "subsegment")
	want(t, "its parent", process["parent_id"], h["id"])
	if process["namespace"] != nil {
		t.Errorf("processing is local work, not a downstream call: namespace %v", process["namespace"])
	}
	want(t, "name", process["name"], "process order-events")
	span := c.span("process order-events", 0)
	if span.Links().Len() != 1 {
		t.Fatalf("shape has %d links", span.Links().Len())
	}
	l := span.Links().At(0)
	links, _ := process["links"].([]any)
	if len(links) != 1 {
		t.Fatalf("links = %v", process["links"])
	}
	want(t, "link trace_id (X-Ray form)", str(links[0], "trace_id"), xrayTraceID(l.TraceID()))
	want(t, "link id", str(links[0], "id"), l.SpanID().String())
	want(t, "link attributes", str(links[0], "attributes", "messaging.message.id"), l.Attributes().AsRaw()["messaging.message.id"])

	// A CONSUMER span whose parent is in another process is the service's entry: a segment.
	td := loadShape(t, "sqs_consumer_batch")
	span = convert(t, lambdaConfig(), td).span("process order-events", 0)
	span.SetFlags(flagHasIsRemote | flagIsRemote)
	seg := convert(t, lambdaConfig(), td).doc("process order-events", 0)
	if _, ok := seg["type"]; ok {
		t.Errorf("remote-parent CONSUMER must be a segment: %v", seg)
	}
	want(t, "its name", seg["name"], "order-service")
	want(t, "links kept", len(seg["links"].([]any)), 1)
}

func TestRootSpansOutsideAnInvocation(t *testing.T) {
	c := convert(t, lambdaConfig(), loadShape(t, "sqs_receive_outside_lambda"))
	poll := c.doc("poll order-events", 0)
	if _, ok := poll["parent_id"]; ok {
		t.Errorf("root span with a parent_id: %v", poll)
	}
	if _, ok := poll["type"]; ok {
		t.Errorf("root span must be a segment: %v", poll)
	}
	recv := c.doc("SQS.ReceiveMessage", 0)
	want(t, "receive", recv["type"], "subsegment")
	want(t, "receive parent", recv["parent_id"], poll["id"])
	want(t, "operation", str(recv, "aws", "operation"), "ReceiveMessage")
}

func TestCloudWatchLogGroups(t *testing.T) {
	cases := []struct {
		name     string
		cfg      []string
		resource map[string]any
		want     []any
	}{
		{"from aws_log_groups", []string{"/aws/lambda/order-service", " "}, nil,
			[]any{map[string]any{"log_group": "/aws/lambda/order-service"}}},
		{"resource names win", []string{"/aws/lambda/order-service"}, map[string]any{"aws.log.group.names": []any{"/custom/a", "/custom/b"}},
			[]any{map[string]any{"log_group": "/custom/a"}, map[string]any{"log_group": "/custom/b"}}},
		{"resource ARNs win", []string{"/aws/lambda/order-service"}, map[string]any{"aws.log.group.names": "/x", "aws.log.group.arns": "arn:aws:logs:us-east-1:123456789012:log-group:/custom/c:*"},
			[]any{map[string]any{"log_group": "/custom/c", "arn": "arn:aws:logs:us-east-1:123456789012:log-group:/custom/c:*"}}},
		{"Lambda's default group without configuration", nil, nil,
			[]any{map[string]any{"log_group": "/aws/lambda/order-service"}}},
		{"none outside Lambda", nil, map[string]any{"cloud.platform": "aws_ec2"}, nil},
		{"the extension's AWS_LAMBDA_FUNCTION_NAME", nil, map[string]any{"cloud.platform": "aws_ec2", "faas.name": nil}, []any{map[string]any{"log_group": "/aws/lambda/from-env"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			td := loadShape(t, "api_gateway_orders")
			res := td.ResourceSpans().At(0).Resource().Attributes()
			_ = res.FromRaw(merge(res.AsRaw(), tc.resource))
			if strings.Contains(tc.name, "AWS_LAMBDA_FUNCTION_NAME") {
				t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "from-env")
			} else {
				t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "")
			}
			c := convert(t, &Config{AWSLogGroups: tc.cfg}, td)
			got := path(c.doc("order-service", 0), "aws", "cloudwatch_logs")
			if tc.want == nil && got != nil {
				t.Errorf("cloudwatch_logs = %v, want none", got)
			} else if tc.want != nil {
				want(t, "cloudwatch_logs", got, tc.want)
			}
			if g := path(c.doc("DynamoDB.GetItem", 0), "aws", "cloudwatch_logs"); g != nil {
				t.Errorf("log groups on a subsegment: %v", g)
			}
		})
	}
}

func TestNonFiniteNumbersStillSerialise(t *testing.T) {
	td := loadShape(t, "api_gateway_orders")
	span := convert(t, &Config{}, td).span("order_service.greet", 0)
	span.Attributes().PutDouble("app.ratio", math.NaN())
	span.Attributes().PutEmptySlice("app.samples").AppendEmpty().SetDouble(math.Inf(1))
	c := convert(t, &Config{IndexedAttributes: []string{"app.ratio"}}, td)
	d := c.doc("order_service.greet", 0)
	want(t, "NaN in metadata", str(d, "metadata", "default", "app.ratio"), "NaN")
	want(t, "+Inf in a slice", path(d, "metadata", "default", "app.samples", 0), "+Inf")
}

func TestSanitizeName(t *testing.T) {
	cases := map[string]string{
		"  ":                     defaultName,
		"GET /a?b=<c>":           "GET /ab=c",
		"tab\tand\nnewline":      "tab and newline",
		"größe@host:5432":        "größe@host:5432",
		strings.Repeat("x", 300): strings.Repeat("x", 200),
		strings.Repeat("é", 250): strings.Repeat("é", 200),
	}
	for in, out := range cases {
		if got := sanitizeName(in); got != out {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, out)
		}
	}
}

func TestLongFieldsAreCutToTheSchemasLimits(t *testing.T) {
	td := loadShape(t, "api_gateway_orders")
	span := convert(t, &Config{}, td).span("order-service", 0)
	span.Attributes().PutStr("http.target", "/"+strings.Repeat("a", 400))
	span.Attributes().PutStr("http.user_agent", strings.Repeat("u", 400))
	span.Attributes().PutStr("enduser.id", strings.Repeat("e", 400))
	span.Attributes().PutStr("app.long", strings.Repeat("l", 2000))
	d := convert(t, defaultConfig(func(c *Config) { c.IndexedAttributes = []string{"app.long"} }), td).doc("order-service", 0)
	want(t, "url length", len(str(d, "http", "request", "url")), 250)
	want(t, "user_agent length", len(str(d, "http", "request", "user_agent")), 250)
	want(t, "user length", len(str(d, "user")), 250)
	want(t, "annotation length", len(str(d, "annotations", "app.long")), 1000)
}

func TestJavaStackTrace(t *testing.T) {
	trace := "java.lang.IllegalStateException: could not load order\n" +
		"\tat com.example.Orders.load(Orders.java:42)\n" +
		"\tat java.base/java.lang.Thread.run(Thread.java:833)\n" +
		"Caused by: java.io.IOException: connection reset\n" +
		"\tat com.example.Db.read(Db.java:7)\n" +
		"\t... 1 more\n"
	got := parseStacktrace(trace, "java")
	if len(got) != 2 {
		t.Fatalf("exceptions = %+v", got)
	}
	want(t, "type", got[0].typ, "java.lang.IllegalStateException")
	want(t, "first frame", got[0].frames[0], stackFrame{Path: "Orders.java", Line: 42, Label: "com.example.Orders.load"})
	want(t, "module prefix dropped", got[0].frames[1].Label, "java.lang.Thread.run")
	want(t, "cause", got[1].typ+": "+got[1].msg, "java.io.IOException: connection reset")
	want(t, "cause frame", got[1].frames[0].Path, "Db.java")
}
