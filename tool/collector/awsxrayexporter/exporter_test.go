package awsxrayexporter

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/xray"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func awsTestEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

type recordingXRay struct {
	mu       sync.Mutex
	calls    int
	docs     []string
	auth     string
	status   int
	response string
	// perCall, when set, answers the n-th call with perCall[n] (status, body).
	perCall []struct {
		status int
		body   string
	}
}

func (x *recordingXRay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct{ TraceSegmentDocuments []string }
	_ = json.Unmarshal(body, &in)
	x.mu.Lock()
	x.calls++
	x.docs = append(x.docs, in.TraceSegmentDocuments...)
	x.auth = r.Header.Get("Authorization")
	status, response := x.status, x.response
	if n := x.calls - 1; n < len(x.perCall) {
		status, response = x.perCall[n].status, x.perCall[n].body
	}
	x.mu.Unlock()
	if r.URL.Path != "/TraceSegments" {
		http.NotFound(w, r)
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	if response == "" {
		response = `{"UnprocessedTraceSegments":[]}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(response))
}

func startExporter(t *testing.T, endpoint string, opts ...func(*xray.Options)) *xrayExporter {
	t.Helper()
	awsTestEnv(t)
	cfg := createDefaultConfig().(*Config)
	cfg.Region = "us-east-1"
	cfg.Endpoint = endpoint
	e := newXrayExporter(cfg, exportertest.NewNopSettings(Type))
	e.clientOptions = opts
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return e
}

var testTraceID = pcommon.TraceID{0x6b, 0x06, 0xf5, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

func manySpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	ss.Scope().SetName("test")
	spans := ss.Spans()
	for i := 0; i < n; i++ {
		s := spans.AppendEmpty()
		s.SetTraceID(testTraceID)
		s.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)})
		s.SetName("op")
		start := time.Unix(1795618285, 0)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	}
	return td
}

func TestPushSendsSignedBatches(t *testing.T) {
	x := &recordingXRay{}
	srv := httptest.NewServer(x)
	defer srv.Close()
	e := startExporter(t, srv.URL)
	if err := e.pushTraces(context.Background(), manySpans(120)); err != nil {
		t.Fatal(err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, d := range x.docs {
		recordDocument(t, d)
	}
	if x.calls != 3 || len(x.docs) != 120 {
		t.Fatalf("calls = %d, documents = %d; want 3 calls, 120 documents", x.calls, len(x.docs))
	}
	if !strings.Contains(x.auth, "AWS4-HMAC-SHA256") || !strings.Contains(x.auth, "/us-east-1/xray/aws4_request") {
		t.Errorf("Authorization = %q, want a SigV4 signature for xray in us-east-1", x.auth)
	}
}

func TestClientErrorIsPermanent(t *testing.T) {
	x := &recordingXRay{status: http.StatusBadRequest, response: `{"__type":"InvalidRequestException","message":"bad"}`}
	srv := httptest.NewServer(x)
	defer srv.Close()
	e := startExporter(t, srv.URL)
	err := e.pushTraces(context.Background(), manySpans(1))
	if err == nil || !consumererror.IsPermanent(err) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
}

func TestServerErrorIsRetryable(t *testing.T) {
	x := &recordingXRay{status: http.StatusServiceUnavailable, response: `{"__type":"ServiceUnavailable"}`}
	srv := httptest.NewServer(x)
	defer srv.Close()
	e := startExporter(t, srv.URL, func(o *xray.Options) { o.RetryMaxAttempts = 1 })
	err := e.pushTraces(context.Background(), manySpans(1))
	if err == nil || consumererror.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
}

func TestPermanentFailureOfOneCallLeavesTheOthersRetryable(t *testing.T) {
	x := &recordingXRay{perCall: []struct {
		status int
		body   string
	}{
		{http.StatusBadRequest, `{"__type":"InvalidRequestException","message":"bad"}`},
		{http.StatusServiceUnavailable, `{"__type":"ServiceUnavailable"}`},
		{http.StatusOK, `{"UnprocessedTraceSegments":[]}`},
	}}
	srv := httptest.NewServer(x)
	defer srv.Close()
	e := startExporter(t, srv.URL, func(o *xray.Options) { o.RetryMaxAttempts = 1 })
	td := manySpans(120) // calls of 50, 50 and 20 documents
	err := e.pushTraces(context.Background(), td)
	if err == nil || consumererror.IsPermanent(err) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	var retry consumererror.Traces
	if !errors.As(err, &retry) {
		t.Fatalf("err = %v, want consumererror.Traces carrying the spans to retry", err)
	}
	if n := retry.Data().SpanCount(); n != 50 {
		t.Fatalf("retry carries %d spans, want the 50 of the failed retryable call", n)
	}
	// Exactly the second call's spans (ids 50..99).
	spans := retry.Data().ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		id := spans.At(i).SpanID()
		if n := int(id[6])<<8 | int(id[7]); n < 50 || n >= 100 {
			t.Fatalf("span %d is not from the retryable call", n)
		}
	}
	if retry.Data().ResourceSpans().At(0).ScopeSpans().At(0).Scope().Name() != "test" {
		t.Errorf("scope not copied")
	}

	only := &recordingXRay{status: http.StatusBadRequest, response: `{"__type":"InvalidRequestException","message":"bad"}`}
	srv2 := httptest.NewServer(only)
	defer srv2.Close()
	e2 := startExporter(t, srv2.URL)
	if err := e2.pushTraces(context.Background(), manySpans(60)); err == nil || !consumererror.IsPermanent(err) {
		t.Fatalf("all calls rejected: err = %v, want permanent", err)
	}
}

func TestConfigFromYAML(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	conf := confmap.NewFromStringMap(map[string]any{
		"region":             "us-east-1",
		"endpoint":           "",
		"indexed_attributes": []any{"app.greeting.name"},
		"aws_log_groups":     []any{"/aws/lambda/order-service"},
	})
	if err := conf.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.AWSLogGroups) != 1 || cfg.AWSLogGroups[0] != "/aws/lambda/order-service" {
		t.Errorf("aws_log_groups = %v", cfg.AWSLogGroups)
	}
	if err := confmap.Validate(cfg); err != nil {
		t.Fatalf("empty endpoint (AWS default) rejected: %v", err)
	}
	cfg.Endpoint = "xray.local"
	if err := confmap.Validate(cfg); err == nil {
		t.Fatal("endpoint without scheme accepted")
	}
	bad := confmap.NewFromStringMap(map[string]any{"no_such_key": 1})
	if err := bad.Unmarshal(createDefaultConfig()); err == nil {
		t.Fatal("unknown key accepted")
	}
}

// urlRecorder is an HTTP client that records the request URL and fails
// without touching the network.
type urlRecorder struct{ url string }

func (u *urlRecorder) Do(r *http.Request) (*http.Response, error) {
	u.url = r.URL.String()
	return nil, errors.New("offline")
}

func TestEmptyEndpointUsesAWSDefault(t *testing.T) {
	rec := &urlRecorder{}
	e := startExporter(t, "", func(o *xray.Options) {
		o.HTTPClient = rec
		o.RetryMaxAttempts = 1
	})
	_ = e.pushTraces(context.Background(), manySpans(1))
	if rec.url != "https://xray.us-east-1.amazonaws.com/TraceSegments" {
		t.Fatalf("request URL = %q, want the regional X-Ray endpoint", rec.url)
	}
}
