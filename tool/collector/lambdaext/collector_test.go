package lambdaext

// End-to-end tests of the lifecycle with the real collector and the components
// of a service's default distribution: OTLP/HTTP in, batch, awsxray out to a
// fake X-Ray API.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor/batchprocessor"

	"lambdaotelxray/awsxrayexporter"
	"lambdaotelxray/otlphttpreceiver"
)

// distribution is the component list of a service's default collector
// (the template's components.go for trace_exporter awsxray).
func distribution() (otelcol.Factories, error) {
	return Factories(Components{
		Receivers:  []Receiver{{Factory: otlphttpreceiver.NewFactory(), Module: "lambdaotelxray/otlphttpreceiver"}},
		Processors: []Processor{{Factory: batchprocessor.NewFactory(), Module: "go.opentelemetry.io/collector/processor/batchprocessor"}},
		Exporters:  []Exporter{{Factory: awsxrayexporter.NewFactory(), Module: "lambdaotelxray/awsxrayexporter"}},
	})
}

// fakeXRay records PutTraceSegments calls.
type fakeXRay struct {
	mu   sync.Mutex
	docs []string
}

func (x *fakeXRay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/TraceSegments" {
		http.NotFound(w, r)
		return
	}
	var in struct{ TraceSegmentDocuments []string }
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	x.mu.Lock()
	x.docs = append(x.docs, in.TraceSegmentDocuments...)
	x.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"UnprocessedTraceSegments":[]}`))
}

func (x *fakeXRay) documents() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]string(nil), x.docs...)
}

func (x *fakeXRay) waitFor(substr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		for _, d := range x.documents() {
			if strings.Contains(d, substr) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func realLifecycle(api *fakeExtensionsAPI, uri string) *lifecycle {
	return &lifecycle{
		name:   "collector",
		client: newExtensionClient(api.runtimeAPI(), "collector"),
		newCollector: func() (collectorService, error) {
			return otelcol.NewCollector(collectorSettings("collector", uri, distribution))
		},
		now:  time.Now,
		logf: func(string, ...any) {},
	}
}

// awsTestEnv gives the AWS SDK static credentials and keeps it off the
// network (no instance metadata).
func awsTestEnv(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func otlpSpan(traceID, spanID, name string) string {
	now := time.Now()
	return fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[
		{"key":"service.name","value":{"stringValue":"orders"}},
		{"key":"cloud.platform","value":{"stringValue":"aws_lambda"}}]},
	"scopeSpans":[{"scope":{"name":"test"},"spans":[{
		"traceId":%q,"spanId":%q,"name":%q,"kind":2,
		"startTimeUnixNano":"%d","endTimeUnixNano":"%d",
		"attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}},
		              {"key":"http.response.status_code","value":{"intValue":"200"}}]}]}]}]}`,
		traceID, spanID, name, now.Add(-time.Millisecond).UnixNano(), now.UnixNano())
}

func postSpan(t *testing.T, port int, body string) {
	t.Helper()
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/traces", port), "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("OTLP POST: %s %s", resp.Status, b)
	}
}

func TestRealCollectorExportsAndShutsDown(t *testing.T) {
	awsTestEnv(t)
	xray := &fakeXRay{}
	xraySrv := httptest.NewServer(xray)
	defer xraySrv.Close()
	port := freePort(t)
	path := writeConfig(t, fmt.Sprintf(`
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:%d"}
processors:
  batch: {timeout: 200ms}
exporters:
  awsxray:
    region: us-east-1
    endpoint: %s
service:
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [awsxray]}
`, port, xraySrv.URL))

	api := newFakeExtensionsAPI(t)
	code := runAsync(realLifecycle(api, "file:"+path))
	if !api.waitNextCalls(1, 20*time.Second) {
		t.Fatal("extension never called /event/next")
	}

	// A span sent during an invoke is exported in the background.
	trace1 := fmt.Sprintf("%08x%024x", time.Now().Unix(), 1)
	api.send(extensionEvent{EventType: eventInvoke, RequestID: "r1", DeadlineMs: time.Now().Add(3 * time.Second).UnixMilli()})
	postSpan(t, port, otlpSpan(trace1, "00000000000000a1", "GET /orders"))
	if !api.waitNextCalls(2, 2*time.Second) {
		t.Fatal("no /event/next after INVOKE")
	}
	id1 := "1-" + trace1[:8] + "-" + trace1[8:]
	if !xray.waitFor(id1, 5*time.Second) {
		t.Fatalf("span not exported to X-Ray; got %v", xray.documents())
	}

	// A span still in the batch at SHUTDOWN is flushed before exit.
	trace2 := fmt.Sprintf("%08x%024x", time.Now().Unix(), 2)
	postSpan(t, port, otlpSpan(trace2, "00000000000000b2", "GET /late"))
	deadline := time.Now().Add(2 * time.Second)
	api.send(extensionEvent{EventType: eventShutdown, ShutdownReason: "spindown", DeadlineMs: deadline.UnixMilli()})
	if c := waitCode(t, code, 5*time.Second); c != 0 {
		t.Fatalf("exit code = %d, want 0", c)
	}
	if time.Now().After(deadline) {
		t.Errorf("exited %s after the deadline", time.Since(deadline))
	}
	id2 := "1-" + trace2[:8] + "-" + trace2[8:]
	if !xray.waitFor(id2, 0) {
		t.Fatalf("span sent before SHUTDOWN was not flushed; got %v", xray.documents())
	}

	var seg map[string]any
	for _, d := range xray.documents() {
		if strings.Contains(d, id1) {
			if err := json.Unmarshal([]byte(d), &seg); err != nil {
				t.Fatal(err)
			}
		}
	}
	// No origin on Lambda: Lambda's own function segment is the AWS::Lambda::Function node
	// (docs/decisions.md, decision 9).
	if _, hasOrigin := seg["origin"]; seg["name"] != "orders" || hasOrigin || seg["id"] != "00000000000000a1" {
		t.Errorf("unexpected segment %v", seg)
	}
}

func TestRealCollectorUnknownComponentIsInitError(t *testing.T) {
	path := writeConfig(t, `
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:0"}
exporters:
  nosuch: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [nosuch]}
`)
	api := newFakeExtensionsAPI(t)
	code := runAsync(realLifecycle(api, "file:"+path))
	if c := waitCode(t, code, 20*time.Second); c != 1 {
		t.Fatalf("exit code = %d, want 1", c)
	}
	assertInitError(t, api, errorTypeConfig, `unknown type: "nosuch"`)
}

func TestCommandValidatesAConfiguration(t *testing.T) {
	awsTestEnv(t)
	good := writeConfig(t, `
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:0"}
exporters:
  awsxray: {region: us-east-1}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [awsxray]}
`)
	if code := runCommand("collector", distribution, []string{"validate", "--config=file:" + good}); code != 0 {
		t.Fatalf("validate of a good config exited %d", code)
	}
	bad := writeConfig(t, `
receivers:
  otlp: {}
exporters:
  otlp_http: {endpoint: "http://127.0.0.1:1"}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [otlp_http]}
`)
	// A component the distribution does not list is unknown to it.
	if code := runCommand("collector", distribution, []string{"validate", "--config=file:" + bad}); code != 1 {
		t.Fatalf("validate of a config with an unlisted exporter exited %d, want 1", code)
	}
}
