package lambdaext

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/otelcol"
)

// fakeCollector stands in for *otelcol.Collector.
type fakeCollector struct {
	dryRunErr  error
	runErr     error         // returned by Run at once when startFails
	startFails bool          // Run returns runErr without reaching Running
	crash      chan error    // a value makes a running Run return it
	block      chan struct{} // if set, Shutdown waits for it

	state        atomic.Int64
	stop         chan struct{}
	stopOnce     sync.Once
	done         chan struct{}
	shutdownCall atomic.Bool
	dryRuns      atomic.Int32
}

func newFakeCollector() *fakeCollector {
	c := &fakeCollector{stop: make(chan struct{}), done: make(chan struct{}), crash: make(chan error, 1)}
	c.state.Store(int64(otelcol.StateStarting))
	return c
}

func (c *fakeCollector) DryRun(context.Context) error {
	c.dryRuns.Add(1)
	return c.dryRunErr
}

func (c *fakeCollector) Run(context.Context) error {
	defer close(c.done)
	if c.dryRunErr != nil { // a configuration DryRun rejects makes Run fail too
		c.state.Store(int64(otelcol.StateClosed))
		return fmt.Errorf("failed to get config: %w", c.dryRunErr)
	}
	if c.startFails {
		c.state.Store(int64(otelcol.StateClosed))
		return c.runErr
	}
	c.state.Store(int64(otelcol.StateRunning))
	select {
	case <-c.stop:
		if c.block != nil {
			<-c.block
		}
		c.state.Store(int64(otelcol.StateClosed))
		return nil
	case err := <-c.crash:
		c.state.Store(int64(otelcol.StateClosed))
		return err
	}
}

func (c *fakeCollector) GetState() otelcol.State { return otelcol.State(c.state.Load()) }

func (c *fakeCollector) Shutdown() {
	c.shutdownCall.Store(true)
	c.stopOnce.Do(func() { close(c.stop) })
	<-c.done
}

func newTestLifecycle(api *fakeExtensionsAPI, col collectorService, newErr error) *lifecycle {
	return &lifecycle{
		name:   "collector",
		client: newExtensionClient(api.runtimeAPI(), "collector"),
		newCollector: func() (collectorService, error) {
			if newErr != nil {
				return nil, newErr
			}
			return col, nil
		},
		now:  time.Now,
		logf: func(string, ...any) {},
	}
}

// runAsync runs the lifecycle and returns a channel with its exit code.
func runAsync(l *lifecycle) <-chan int {
	code := make(chan int, 1)
	go func() { code <- l.run(context.Background()) }()
	return code
}

func waitCode(t *testing.T, code <-chan int, within time.Duration) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(within):
		t.Fatalf("lifecycle did not return within %s", within)
		return -1
	}
}

func TestRegisterRequest(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	col := newFakeCollector()
	code := runAsync(newTestLifecycle(api, col, nil))
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	api.send(extensionEvent{EventType: eventShutdown, DeadlineMs: time.Now().Add(2 * time.Second).UnixMilli()})
	if c := waitCode(t, code, 5*time.Second); c != 0 {
		t.Fatalf("exit code = %d, want 0", c)
	}

	regs := api.recorded("/register")
	if len(regs) != 1 {
		t.Fatalf("register calls = %d, want 1", len(regs))
	}
	reg := regs[0]
	if reg.method != "POST" {
		t.Errorf("register method = %s", reg.method)
	}
	if got := reg.header.Get(headerExtensionName); got != "collector" {
		t.Errorf("%s = %q, want collector", headerExtensionName, got)
	}
	var body struct{ Events []string }
	if err := json.Unmarshal([]byte(reg.body), &body); err != nil {
		t.Fatalf("register body %q: %v", reg.body, err)
	}
	if fmt.Sprint(body.Events) != "[INVOKE SHUTDOWN]" {
		t.Errorf("registered events = %v", body.Events)
	}
	for _, n := range api.recorded("/event/next") {
		if n.header.Get(headerExtensionIdentifier) != fakeExtensionID {
			t.Errorf("/event/next without the extension identifier")
		}
	}
}

// A good configuration is resolved once, by Run: no DryRun on the cold-start path.
func TestStartResolvesTheConfigurationOnce(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	col := newFakeCollector()
	created := 0
	l := newTestLifecycle(api, col, nil)
	newCollector := l.newCollector
	l.newCollector = func() (collectorService, error) {
		created++
		return newCollector()
	}
	code := runAsync(l)
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	api.send(extensionEvent{EventType: eventShutdown, DeadlineMs: time.Now().Add(2 * time.Second).UnixMilli()})
	if c := waitCode(t, code, 5*time.Second); c != 0 {
		t.Fatalf("exit code = %d, want 0", c)
	}
	if created != 1 || col.dryRuns.Load() != 0 {
		t.Errorf("collectors created = %d, DryRun calls = %d; want 1 and 0", created, col.dryRuns.Load())
	}
}

func TestInvokeReturnsToNextImmediately(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	col := newFakeCollector()
	code := runAsync(newTestLifecycle(api, col, nil))
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	for i := 2; i <= 4; i++ {
		start := time.Now()
		api.send(extensionEvent{EventType: eventInvoke, RequestID: fmt.Sprint("req-", i), DeadlineMs: time.Now().Add(3 * time.Second).UnixMilli()})
		if !api.waitNextCalls(i, 2*time.Second) {
			t.Fatalf("no /event/next after INVOKE %d", i-1)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("INVOKE %d took %s to return to /event/next", i-1, d)
		}
	}
	if col.shutdownCall.Load() {
		t.Fatal("collector was shut down on INVOKE")
	}
	api.send(extensionEvent{EventType: eventShutdown, ShutdownReason: "spindown", DeadlineMs: time.Now().Add(2 * time.Second).UnixMilli()})
	if c := waitCode(t, code, 5*time.Second); c != 0 {
		t.Fatalf("exit code = %d, want 0", c)
	}
	if !col.shutdownCall.Load() {
		t.Fatal("collector not shut down on SHUTDOWN")
	}
	if col.GetState() != otelcol.StateClosed {
		t.Fatalf("collector state = %s, want Closed", col.GetState())
	}
}

func TestShutdownBoundedByDeadline(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	col := newFakeCollector()
	col.block = make(chan struct{}) // the collector never finishes its shutdown
	t.Cleanup(func() { close(col.block) })
	code := runAsync(newTestLifecycle(api, col, nil))
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	deadline := time.Now().Add(400 * time.Millisecond)
	api.send(extensionEvent{EventType: eventShutdown, DeadlineMs: deadline.UnixMilli()})
	if c := waitCode(t, code, 3*time.Second); c != 0 {
		t.Fatalf("exit code = %d, want 0", c)
	}
	if time.Now().After(deadline) {
		t.Fatalf("returned %s after the SHUTDOWN deadline", time.Since(deadline))
	}
}

func TestInitErrorOnInvalidConfig(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	col := newFakeCollector()
	col.dryRunErr = errors.New(`service::pipelines::traces: references exporter "nosuch" which is not configured`)
	code := runAsync(newTestLifecycle(api, col, nil))
	if c := waitCode(t, code, 5*time.Second); c != 1 {
		t.Fatalf("exit code = %d, want 1", c)
	}
	assertInitError(t, api, errorTypeConfig, "nosuch")
	if n := len(api.recorded("/event/next")); n != 0 {
		t.Errorf("/event/next called %d times after an init failure", n)
	}
}

func TestInitErrorWhenCollectorCannotBeCreated(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	code := runAsync(newTestLifecycle(api, nil, errors.New("unsupported scheme \"s3\"")))
	if c := waitCode(t, code, 5*time.Second); c != 1 {
		t.Fatalf("exit code = %d, want 1", c)
	}
	assertInitError(t, api, errorTypeConfig, "s3")
}

func TestInitErrorWhenStartFails(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	col := newFakeCollector()
	col.startFails = true
	col.runErr = errors.New("listen tcp 127.0.0.1:4318: bind: address already in use")
	code := runAsync(newTestLifecycle(api, col, nil))
	if c := waitCode(t, code, 5*time.Second); c != 1 {
		t.Fatalf("exit code = %d, want 1", c)
	}
	assertInitError(t, api, errorTypeStart, "address already in use")
}

func TestExitErrorWhenCollectorDies(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	col := newFakeCollector()
	code := runAsync(newTestLifecycle(api, col, nil))
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	col.crash <- errors.New("fatal component error")
	if c := waitCode(t, code, 5*time.Second); c != 1 {
		t.Fatalf("exit code = %d, want 1", c)
	}
	reports := api.recorded("/exit/error")
	if len(reports) != 1 {
		t.Fatalf("exit/error calls = %d, want 1", len(reports))
	}
	if got := reports[0].header.Get(headerFunctionErrorType); got != errorTypeExited {
		t.Errorf("error type = %q, want %q", got, errorTypeExited)
	}
}

func TestRegisterFailureExits(t *testing.T) {
	l := &lifecycle{
		name:   "collector",
		client: newExtensionClient("127.0.0.1:1", "collector"), // nothing listens on port 1
		newCollector: func() (collectorService, error) {
			t.Fatal("collector created although registration failed")
			return nil, nil
		},
		now:  time.Now,
		logf: func(string, ...any) {},
	}
	if c := l.run(context.Background()); c != 1 {
		t.Fatalf("exit code = %d, want 1", c)
	}
}

func assertInitError(t *testing.T, api *fakeExtensionsAPI, wantType, wantInMessage string) {
	t.Helper()
	reports := api.recorded("/init/error")
	if len(reports) != 1 {
		t.Fatalf("init/error calls = %d, want 1", len(reports))
	}
	r := reports[0]
	if got := r.header.Get(headerFunctionErrorType); got != wantType {
		t.Errorf("%s = %q, want %q", headerFunctionErrorType, got, wantType)
	}
	if got := r.header.Get(headerExtensionIdentifier); got != fakeExtensionID {
		t.Errorf("%s = %q, want %q", headerExtensionIdentifier, got, fakeExtensionID)
	}
	var body errorReport
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("init/error body %q is not JSON: %v", r.body, err)
	}
	if body.ErrorType != wantType {
		t.Errorf("body errorType = %q, want %q", body.ErrorType, wantType)
	}
	if !strings.Contains(body.ErrorMessage, wantInMessage) {
		t.Errorf("body errorMessage = %q, want it to contain %q", body.ErrorMessage, wantInMessage)
	}
}
