package otlphttpreceiver

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

func freeEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startReceiver runs the receiver from the factory on a free port and
// returns its traces URL.
func startReceiver(t *testing.T, next consumer.Traces, edit func(*Config)) string {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Protocols.HTTP.Endpoint = freeEndpoint(t)
	if edit != nil {
		edit(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(Type), cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return "http://" + cfg.Protocols.HTTP.Endpoint + cfg.Protocols.HTTP.tracesPath()
}

func testTraces(names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "order-service")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i, name := range names {
		s := spans.AppendEmpty()
		s.SetName(name)
		s.SetTraceID(pcommon.TraceID{0x6b, 0x06, 0xf5, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, byte(i + 1)})
		s.SetKind(ptrace.SpanKindServer)
		s.Attributes().PutStr("app.greeting.name", "world")
	}
	return td
}

func encode(t *testing.T, td ptrace.Traces, contentType string) []byte {
	t.Helper()
	req := ptraceotlp.NewExportRequestFromTraces(td)
	var body []byte
	var err error
	if contentType == jsonContentType {
		body, err = req.MarshalJSON()
	} else {
		body, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return body
}

type answer struct {
	status      int
	contentType string
	body        []byte
	header      http.Header
}

func post(t *testing.T, url, contentType, encoding string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Content-Type"), data, resp.Header}
}

func decodeResponse(t *testing.T, a answer) ptraceotlp.ExportResponse {
	t.Helper()
	resp := ptraceotlp.NewExportResponse()
	var err error
	if a.contentType == jsonContentType {
		err = resp.UnmarshalJSON(a.body)
	} else {
		err = resp.UnmarshalProto(a.body)
	}
	if err != nil {
		t.Fatalf("response %q is not an ExportTraceServiceResponse: %v", a.body, err)
	}
	return resp
}

// status decodes a google.rpc.Status body in either encoding.
func status(t *testing.T, a answer) (int32, string) {
	t.Helper()
	if strings.HasPrefix(a.contentType, jsonContentType) {
		var s struct {
			Code    int32
			Message string
		}
		if err := json.Unmarshal(a.body, &s); err != nil {
			t.Fatalf("status %q: %v", a.body, err)
		}
		return s.Code, s.Message
	}
	var code int32
	var message string
	b := a.body
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		b = b[n:]
		v, n := binary.Uvarint(b)
		b = b[n:]
		switch tag {
		case 1<<3 | 0:
			code = int32(v)
		case 2<<3 | 2:
			message, b = string(b[:v]), b[v:]
		default:
			t.Fatalf("unexpected field tag %d in status %q", tag, a.body)
		}
	}
	return code, message
}

func TestAcceptsProtobufAndJSON(t *testing.T) {
	for _, ct := range []string{protobufContentType, jsonContentType, jsonContentType + "; charset=utf-8"} {
		t.Run(ct, func(t *testing.T) {
			sink := &consumertest.TracesSink{}
			url := startReceiver(t, sink, nil)
			sent := testTraces("GET /orders", "DynamoDB.GetItem")
			a := post(t, url, ct, "", encode(t, sent, mediaType(ct)))
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			if a.contentType != mediaType(ct) {
				t.Errorf("response Content-Type %q, want the request's %q", a.contentType, mediaType(ct))
			}
			resp := decodeResponse(t, a)
			if resp.PartialSuccess().RejectedSpans() != 0 || resp.PartialSuccess().ErrorMessage() != "" {
				t.Errorf("partial success on a full success: %v", resp.PartialSuccess())
			}
			got := sink.AllTraces()
			if len(got) != 1 {
				t.Fatalf("%d batches consumed, want 1", len(got))
			}
			if !bytes.Equal(encode(t, got[0], protobufContentType), encode(t, sent, protobufContentType)) {
				t.Error("consumed spans differ from those sent")
			}
		})
	}
}

func compress(t *testing.T, encoding string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	if encoding == "deflate" {
		w = zlib.NewWriter(&buf)
	} else {
		w = gzip.NewWriter(&buf)
	}
	_, _ = w.Write(data)
	_ = w.Close()
	return buf.Bytes()
}

func TestContentEncodings(t *testing.T) {
	sink := &consumertest.TracesSink{}
	url := startReceiver(t, sink, nil)
	body := encode(t, testTraces("a"), protobufContentType)
	for _, enc := range []string{"gzip", "deflate", "identity"} {
		payload := body
		if enc != "identity" {
			payload = compress(t, enc, body)
		}
		if a := post(t, url, protobufContentType, enc, payload); a.status != http.StatusOK {
			t.Errorf("%s: status %d: %s", enc, a.status, a.body)
		}
	}
	if sink.SpanCount() != 3 {
		t.Errorf("%d spans consumed, want 3", sink.SpanCount())
	}
	a := post(t, url, protobufContentType, "br", body)
	if a.status != http.StatusUnsupportedMediaType {
		t.Errorf("unknown encoding: status %d, want 415", a.status)
	}
	if _, msg := status(t, a); !strings.Contains(msg, "gzip") {
		t.Errorf("unknown encoding: message %q does not name the supported ones", msg)
	}
	if a := post(t, url, protobufContentType, "gzip", []byte("not gzip")); a.status != http.StatusBadRequest {
		t.Errorf("corrupt gzip: status %d, want 400", a.status)
	}
	if sink.SpanCount() != 3 {
		t.Errorf("a refused request reached the pipeline")
	}
}

func TestBadRequests(t *testing.T) {
	sink := &consumertest.TracesSink{}
	url := startReceiver(t, sink, nil)
	for _, ct := range []string{protobufContentType, jsonContentType} {
		a := post(t, url, ct, "", []byte("\xff\xff garbage {"))
		if a.status != http.StatusBadRequest {
			t.Errorf("%s garbage: status %d, want 400", ct, a.status)
		}
		if a.contentType != ct {
			t.Errorf("%s garbage: error Content-Type %q, want the request's", ct, a.contentType)
		}
		if code, msg := status(t, a); code != 3 || msg == "" {
			t.Errorf("%s garbage: status body code %d message %q, want INVALID_ARGUMENT with a message", ct, code, msg)
		}
	}
	if a := post(t, url, "text/plain", "", []byte("x")); a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: status %d, want 415", a.status)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: status %d Allow %q, want 405 and POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
	other := strings.TrimSuffix(url, "/v1/traces") + "/v1/metrics"
	if a := post(t, other, protobufContentType, "", nil); a.status != http.StatusNotFound {
		t.Errorf("/v1/metrics: status %d, want 404 (traces only)", a.status)
	}
	if sink.SpanCount() != 0 {
		t.Errorf("a refused request reached the pipeline")
	}
}

func TestBodySizeLimit(t *testing.T) {
	sink := &consumertest.TracesSink{}
	url := startReceiver(t, sink, func(c *Config) { c.Protocols.HTTP.MaxRequestBodySize = 1024 })
	big := encode(t, testTraces(strings.Repeat("x", 2000)), protobufContentType)
	if a := post(t, url, protobufContentType, "", big); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: status %d, want 413", a.status)
	}
	// Small on the wire, too large once decompressed.
	bomb := compress(t, "gzip", big)
	if len(bomb) >= 1024 {
		t.Fatalf("test payload compresses to %d bytes, want < 1024", len(bomb))
	}
	if a := post(t, url, protobufContentType, "gzip", bomb); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize decompressed body: status %d, want 413", a.status)
	}
	if a := post(t, url, protobufContentType, "", encode(t, testTraces("ok"), protobufContentType)); a.status != http.StatusOK {
		t.Errorf("small body: status %d", a.status)
	}
	if sink.SpanCount() != 1 {
		t.Errorf("%d spans consumed, want 1", sink.SpanCount())
	}
}

func TestPartialSuccessForInvalidIDs(t *testing.T) {
	for _, ct := range []string{protobufContentType, jsonContentType} {
		t.Run(ct, func(t *testing.T) {
			sink := &consumertest.TracesSink{}
			url := startReceiver(t, sink, nil)
			td := testTraces("good", "no trace id", "no span id")
			spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
			spans.At(1).SetTraceID(pcommon.TraceID{})
			spans.At(2).SetSpanID(pcommon.SpanID{})
			a := post(t, url, ct, "", encode(t, td, ct))
			if a.status != http.StatusOK {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			ps := decodeResponse(t, a).PartialSuccess()
			if ps.RejectedSpans() != 2 || !strings.Contains(ps.ErrorMessage(), "2 span(s) rejected") {
				t.Errorf("partial success = %d %q, want 2 rejected with a message", ps.RejectedSpans(), ps.ErrorMessage())
			}
			if sink.SpanCount() != 1 || sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Name() != "good" {
				t.Errorf("consumed %d spans, want only the valid one", sink.SpanCount())
			}
			// Only invalid spans: nothing reaches the pipeline, still a 200.
			bad := testTraces("bad")
			bad.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(pcommon.TraceID{})
			a = post(t, url, ct, "", encode(t, bad, ct))
			if a.status != http.StatusOK || decodeResponse(t, a).PartialSuccess().RejectedSpans() != 1 {
				t.Errorf("all invalid: status %d, body %q", a.status, a.body)
			}
			if sink.SpanCount() != 1 {
				t.Errorf("invalid spans reached the pipeline")
			}
		})
	}
}

func TestEmptyRequestIsASuccess(t *testing.T) {
	sink := &consumertest.TracesSink{}
	url := startReceiver(t, sink, nil)
	if a := post(t, url, protobufContentType, "", nil); a.status != http.StatusOK {
		t.Errorf("empty request: status %d", a.status)
	}
	if len(sink.AllTraces()) != 0 {
		t.Errorf("an empty request reached the pipeline")
	}
}

func TestPipelineErrors(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		status int
		code   int32
	}{
		{"retryable", errors.New("queue is full"), http.StatusServiceUnavailable, 14},
		{"permanent", consumererror.NewPermanent(errors.New("never")), http.StatusInternalServerError, 13},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url := startReceiver(t, consumertest.NewErr(tc.err), nil)
			for _, ct := range []string{protobufContentType, jsonContentType} {
				a := post(t, url, ct, "", encode(t, testTraces("a"), ct))
				if a.status != tc.status {
					t.Errorf("%s: status %d, want %d", ct, a.status, tc.status)
				}
				if code, msg := status(t, a); code != tc.code || !strings.Contains(msg, tc.err.Error()) {
					t.Errorf("%s: status body %d %q, want %d with the error", ct, code, msg, tc.code)
				}
			}
		})
	}
}

// blockingSink holds ConsumeTraces until released.
type blockingSink struct {
	consumertest.TracesSink
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingSink) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.TracesSink.ConsumeTraces(ctx, td)
}

// Shutdown waits for a request in flight: its spans are in the pipeline, and
// the client got its 200, before the receiver has stopped.
func TestShutdownWaitsForRequestsInFlight(t *testing.T) {
	sink := &blockingSink{entered: make(chan struct{}), release: make(chan struct{})}
	cfg := createDefaultConfig()
	cfg.Protocols.HTTP.Endpoint = freeEndpoint(t)
	r, err := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(Type), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + cfg.Protocols.HTTP.Endpoint + "/v1/traces"
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(url, protobufContentType, bytes.NewReader(encode(t, testTraces("a"), protobufContentType)))
		if err != nil {
			answered <- -1
			return
		}
		_ = resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-sink.entered
	stopped := make(chan error, 1)
	go func() { stopped <- r.Shutdown(context.Background()) }()
	select {
	case <-stopped:
		t.Fatal("Shutdown returned with a request in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(sink.release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if code := <-answered; code != http.StatusOK {
		t.Fatalf("request in flight answered %d, want 200", code)
	}
	if sink.SpanCount() != 1 {
		t.Fatal("the spans of the request in flight were not consumed")
	}
}

func TestStartFailsWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := createDefaultConfig()
	cfg.Protocols.HTTP.Endpoint = taken.Addr().String()
	r, _ := NewFactory().CreateTraces(context.Background(), receivertest.NewNopSettings(Type), cfg, consumertest.NewNop())
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start on a taken port: %v", err)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func unmarshal(t *testing.T, raw map[string]any) (*Config, error) {
	t.Helper()
	cfg := createDefaultConfig()
	if err := confmap.NewFromStringMap(raw).Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, cfg.Validate()
}

func TestConfig(t *testing.T) {
	// The template's config, and the core receiver's HTTP keys this one has.
	cfg, err := unmarshal(t, map[string]any{"protocols": map[string]any{"http": map[string]any{
		"endpoint": "localhost:4318", "traces_url_path": "v1/spans", "max_request_body_size": 1000,
		"read_header_timeout": "2s", "idle_timeout": "30s",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	h := cfg.Protocols.HTTP
	if h.Endpoint != "localhost:4318" || h.tracesPath() != "/v1/spans" || h.MaxRequestBodySize != 1000 ||
		h.ReadHeaderTimeout != 2*time.Second || h.IdleTimeout != 30*time.Second {
		t.Errorf("decoded %+v", h)
	}
	// `http:` with no settings, or no protocols at all: the defaults.
	for _, raw := range []map[string]any{{"protocols": map[string]any{"http": nil}}, {}} {
		cfg, err := unmarshal(t, raw)
		if err != nil {
			t.Fatalf("%v: %v", raw, err)
		}
		if cfg.Protocols.HTTP.Endpoint != defaultEndpoint || cfg.Protocols.HTTP.tracesPath() != defaultTracesURLPath {
			t.Errorf("%v: defaults lost: %+v", raw, cfg.Protocols.HTTP)
		}
	}
}

func TestConfigRefusesWhatItDoesNotServe(t *testing.T) {
	cases := map[string]map[string]any{
		"protocols::grpc":       {"protocols": map[string]any{"grpc": map[string]any{"endpoint": "localhost:4317"}}},
		"protocols::http::tls":  {"protocols": map[string]any{"http": map[string]any{"tls": map[string]any{}}}},
		"protocols::http::cors": {"protocols": map[string]any{"http": map[string]any{"cors": map[string]any{}}}},
		"protocols::http::metrics_url_path": {"protocols": map[string]any{"http": map[string]any{
			"metrics_url_path": "/v1/metrics"}}},
	}
	for key, raw := range cases {
		_, err := unmarshal(t, raw)
		if err == nil || !strings.Contains(err.Error(), key+" is not supported") ||
			!strings.Contains(err.Error(), "go.opentelemetry.io/collector/receiver/otlpreceiver") {
			t.Errorf("%s: %v; want it refused with what to do instead", key, err)
		}
	}
	for name, raw := range map[string]map[string]any{
		"endpoint":     {"protocols": map[string]any{"http": map[string]any{"endpoint": "localhost"}}},
		"body size":    {"protocols": map[string]any{"http": map[string]any{"max_request_body_size": 0}}},
		"empty path":   {"protocols": map[string]any{"http": map[string]any{"traces_url_path": ""}}},
		"neg. timeout": {"protocols": map[string]any{"http": map[string]any{"idle_timeout": "-1s"}}},
	} {
		if _, err := unmarshal(t, raw); err == nil {
			t.Errorf("%s: invalid setting accepted", name)
		}
	}
}

func TestFactory(t *testing.T) {
	f := NewFactory()
	if f.Type().String() != "otlp" {
		t.Errorf("type %q, want otlp", f.Type())
	}
	if err := componenttest.CheckConfigStruct(f.CreateDefaultConfig()); err != nil {
		t.Error(err)
	}
	if _, err := f.CreateMetrics(context.Background(), receivertest.NewNopSettings(Type), f.CreateDefaultConfig(), consumertest.NewNop()); err == nil {
		t.Error("metrics receiver created: this receiver is traces only")
	}
}
