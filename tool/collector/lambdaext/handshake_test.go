package lambdaext

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// handshakeLifecycle is a lifecycle with the flush handshake on a free
// loopback port; it returns the handshake's base URL and the lifecycle's log.
func handshakeLifecycle(t *testing.T, api *fakeExtensionsAPI, col collectorService, timeout time.Duration) (*lifecycle, string, *logRecorder) {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := &logRecorder{}
	l := newTestLifecycle(api, col, nil)
	l.listenHandshake = func() (net.Listener, error) { return listener, nil }
	l.flushTimeout = timeout
	l.logf = log.logf
	return l, "http://" + listener.Addr().String(), log
}

type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *logRecorder) matching(substr string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func postHandshake(t *testing.T, base, path string) int {
	t.Helper()
	resp, err := http.Post(base+path, "", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func registerRuntime(t *testing.T, base string) {
	t.Helper()
	if code := postHandshake(t, base, "/v1/runtime"); code != http.StatusNoContent {
		t.Fatalf("POST /v1/runtime = %d, want 204", code)
	}
}

func postDone(t *testing.T, base, id string) {
	t.Helper()
	if code := postHandshake(t, base, "/v1/invocations/"+id+"/done"); code != http.StatusNoContent {
		t.Fatalf("POST done for %s = %d, want 204", id, code)
	}
}

func invoke(api *fakeExtensionsAPI, id string, within time.Duration) {
	api.send(extensionEvent{EventType: eventInvoke, RequestID: id, DeadlineMs: time.Now().Add(within).UnixMilli()})
}

func shutdownAndWait(t *testing.T, api *fakeExtensionsAPI, code <-chan int) {
	t.Helper()
	api.send(extensionEvent{EventType: eventShutdown, ShutdownReason: "spindown", DeadlineMs: time.Now().Add(2 * time.Second).UnixMilli()})
	if c := waitCode(t, code, 5*time.Second); c != 0 {
		t.Fatalf("exit code = %d, want 0", c)
	}
}

// nextCalls is how often the extension has called /event/next so far.
func nextCalls(api *fakeExtensionsAPI) int {
	api.mu.Lock()
	defer api.mu.Unlock()
	return api.nextCalls
}

// startRegistered runs a lifecycle with the handshake, waits for its init
// (first /event/next) and registers a runtime.
func startRegistered(t *testing.T, timeout time.Duration) (*fakeExtensionsAPI, string, *logRecorder, <-chan int) {
	t.Helper()
	api := newFakeExtensionsAPI(t)
	l, base, log := handshakeLifecycle(t, api, newFakeCollector(), timeout)
	code := runAsync(l)
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	registerRuntime(t, base)
	return api, base, log, code
}

func TestHandshakeDoneBeforeInvoke(t *testing.T) {
	api, base, log, code := startRegistered(t, 5*time.Second)
	postDone(t, base, "req-early")
	start := time.Now()
	invoke(api, "req-early", 10*time.Second)
	if !api.waitNextCalls(2, 2*time.Second) {
		t.Fatal("no /event/next after an INVOKE whose done had arrived")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("INVOKE took %s although its done had arrived first", d)
	}
	shutdownAndWait(t, api, code)
	if lines := log.matching("no done"); len(lines) != 0 {
		t.Errorf("deadline logged: %v", lines)
	}
}

func TestHandshakeDoneAfterInvoke(t *testing.T) {
	api, base, log, code := startRegistered(t, 5*time.Second)
	invoke(api, "req-1", 10*time.Second)
	time.Sleep(300 * time.Millisecond)
	if n := nextCalls(api); n != 1 {
		t.Fatalf("/event/next called %d times before the done: the extension did not wait", n)
	}
	// A done for another invocation does not release this one.
	postDone(t, base, "req-other")
	time.Sleep(100 * time.Millisecond)
	if n := nextCalls(api); n != 1 {
		t.Fatal("a done for another request id released the INVOKE")
	}
	released := time.Now()
	postDone(t, base, "req-1")
	if !api.waitNextCalls(2, 2*time.Second) {
		t.Fatal("no /event/next after the done")
	}
	if d := time.Since(released); d > 200*time.Millisecond {
		t.Errorf("/event/next %s after the done", d)
	}
	shutdownAndWait(t, api, code)
	if lines := log.matching("no done"); len(lines) != 0 {
		t.Errorf("deadline logged: %v", lines)
	}
}

func TestHandshakeDeadlineWhenDoneNeverComes(t *testing.T) {
	api, _, log, code := startRegistered(t, 300*time.Millisecond)
	start := time.Now()
	invoke(api, "req-lost", 10*time.Second)
	if !api.waitNextCalls(2, 3*time.Second) {
		t.Fatal("no /event/next after the flush timeout")
	}
	if d := time.Since(start); d < 280*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("/event/next after %s, want the 300ms flush timeout", d)
	}
	if lines := log.matching("no done for request req-lost"); len(lines) != 1 {
		t.Errorf("deadline log lines = %v, want one naming the request", lines)
	}
	shutdownAndWait(t, api, code)
}

// The invocation's own deadline (minus 100 ms) bounds the wait below the
// flush timeout.
func TestHandshakeDeadlineBelowInvocationDeadline(t *testing.T) {
	api, _, log, code := startRegistered(t, 10*time.Second)
	start := time.Now()
	invoke(api, "req-short", 400*time.Millisecond)
	if !api.waitNextCalls(2, 3*time.Second) {
		t.Fatal("no /event/next before the invocation's deadline")
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("/event/next after %s: past the invocation's deadline", d)
	}
	if len(log.matching("no done for request req-short")) != 1 {
		t.Errorf("deadline not logged: %v", log.lines)
	}
	// No time left at all: no wait.
	start = time.Now()
	invoke(api, "req-late", 50*time.Millisecond)
	if !api.waitNextCalls(3, 2*time.Second) {
		t.Fatal("no /event/next for an invocation without time left")
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("waited %s with no time left", d)
	}
	shutdownAndWait(t, api, code)
}

// Without a runtime registered (an uninstrumented function) INVOKE never waits.
func TestHandshakeNoRegistrationNoWait(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	l, _, _ := handshakeLifecycle(t, api, newFakeCollector(), 5*time.Second)
	code := runAsync(l)
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	for i := 2; i <= 4; i++ {
		start := time.Now()
		invoke(api, fmt.Sprint("req-", i), 10*time.Second)
		if !api.waitNextCalls(i, 2*time.Second) {
			t.Fatalf("no /event/next after INVOKE %d", i-1)
		}
		if d := time.Since(start); d > 300*time.Millisecond {
			t.Errorf("INVOKE %d waited %s without a registered runtime", i-1, d)
		}
	}
	shutdownAndWait(t, api, code)
}

// SHUTDOWN comes through /event/next, so it is seen once the wait is over: by
// the done, or by the deadline. Either way the collector is flushed.
func TestHandshakeShutdownWhileWaiting(t *testing.T) {
	for _, doneComes := range []bool{true, false} {
		t.Run(fmt.Sprintf("done=%v", doneComes), func(t *testing.T) {
			api := newFakeExtensionsAPI(t)
			col := newFakeCollector()
			l, base, _ := handshakeLifecycle(t, api, col, 400*time.Millisecond)
			code := runAsync(l)
			if !api.waitNextCalls(1, 5*time.Second) {
				t.Fatal("extension never called /event/next")
			}
			registerRuntime(t, base)
			invoke(api, "req-last", 10*time.Second)
			// Lambda has SHUTDOWN ready while the extension still waits.
			api.send(extensionEvent{EventType: eventShutdown, ShutdownReason: "spindown", DeadlineMs: time.Now().Add(2 * time.Second).UnixMilli()})
			time.Sleep(100 * time.Millisecond)
			if nextCalls(api) != 1 {
				t.Fatal("the extension asked for the next event before the done or the deadline")
			}
			start := time.Now()
			if doneComes {
				postDone(t, base, "req-last")
			}
			if c := waitCode(t, code, 3*time.Second); c != 0 {
				t.Fatalf("exit code = %d, want 0", c)
			}
			if doneComes && time.Since(start) > 300*time.Millisecond {
				t.Errorf("exited %s after the done", time.Since(start))
			}
			if !col.shutdownCall.Load() {
				t.Fatal("collector not shut down (telemetry not flushed)")
			}
		})
	}
}

// Dones for ids that never come as INVOKE are kept in a bounded set, and the
// handshake still releases a real invocation afterwards.
func TestHandshakeFloodOfUnknownIDs(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newTestLifecycle(api, newFakeCollector(), nil)
	h := newHandshake()
	l.handshake = h
	l.listenHandshake = func() (net.Listener, error) { return listener, nil }
	l.flushTimeout = 5 * time.Second
	base := "http://" + listener.Addr().String()
	code := runAsync(l)
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	registerRuntime(t, base)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	for i := 0; i < 5000; i++ {
		resp, err := client.Post(fmt.Sprintf("%s/v1/invocations/flood-%d/done", base, i), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("done %d = %d", i, resp.StatusCode)
		}
	}
	// An id longer than any request id is refused, not stored.
	if code := postHandshake(t, base, "/v1/invocations/"+strings.Repeat("x", maxRequestIDLength+1)+"/done"); code != http.StatusBadRequest {
		t.Errorf("over-long id = %d, want 400", code)
	}
	if n := h.pending(); n > seenCapacity {
		t.Fatalf("%d dones kept, want at most %d", n, seenCapacity)
	}
	// The most recent ones are kept: a done that came just before its INVOKE.
	invoke(api, "flood-4999", 10*time.Second)
	if !api.waitNextCalls(2, time.Second) {
		t.Fatal("a kept done did not release its INVOKE")
	}
	invoke(api, "req-real", 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	postDone(t, base, "req-real")
	if !api.waitNextCalls(3, time.Second) {
		t.Fatal("after the flood, a done no longer releases its INVOKE")
	}
	shutdownAndWait(t, api, code)
}

func TestHandshakeProtocolErrors(t *testing.T) {
	h := newHandshake()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := serveHandshake(listener, h)
	defer srv.close()
	base := "http://" + listener.Addr().String()
	resp, err := http.Get(base + "/v1/runtime")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/runtime = %d, want 405", resp.StatusCode)
	}
	if code := postHandshake(t, base, "/v1/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown path = %d, want 404", code)
	}
	if code := postHandshake(t, base, "/v1/invocations//done"); code == http.StatusNoContent {
		t.Errorf("empty id accepted")
	}
	if h.registered || h.pending() != 0 {
		t.Errorf("bad requests changed the state")
	}
	// expect before any registration: nothing to wait for.
	if ch := h.expect("x"); ch != nil {
		t.Errorf("expect without a registered runtime returned a channel")
	}
}

func TestFlushTimeoutFromEnvironment(t *testing.T) {
	cases := map[string]time.Duration{
		"":       defaultFlushTimeout,
		"250":    250 * time.Millisecond,
		"1500ms": 1500 * time.Millisecond,
		"2s":     2 * time.Second,
		"0":      0,
	}
	for v, want := range cases {
		got, err := flushTimeout(func(string) string { return v })
		if err != nil || got != want {
			t.Errorf("%q: %s, %v; want %s", v, got, err, want)
		}
	}
	for _, bad := range []string{"soon", "-5", "1 s"} {
		got, err := flushTimeout(func(string) string { return bad })
		if err == nil || got != defaultFlushTimeout || !strings.Contains(err.Error(), flushTimeoutEnv) {
			t.Errorf("%q: %s, %v; want the default and an error naming the variable", bad, got, err)
		}
	}
}

func TestHandshakeEndpointFromEnvironment(t *testing.T) {
	if got := handshakeEndpoint(func(string) string { return "" }); got != "127.0.0.1:4319" {
		t.Errorf("default = %q", got)
	}
	if got := handshakeEndpoint(func(string) string { return "127.0.0.1:5000" }); got != "127.0.0.1:5000" {
		t.Errorf("override = %q", got)
	}
}

func TestFlushDeadline(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	if got := flushDeadline(now, time.Second, 0); !got.Equal(now.Add(time.Second)) {
		t.Errorf("no invocation deadline: %s", got.Sub(now))
	}
	if got := flushDeadline(now, time.Second, now.Add(500*time.Millisecond).UnixMilli()); !got.Equal(now.Add(400 * time.Millisecond)) {
		t.Errorf("near invocation deadline: %s", got.Sub(now))
	}
	if got := flushDeadline(now, time.Second, now.Add(time.Minute).UnixMilli()); !got.Equal(now.Add(time.Second)) {
		t.Errorf("far invocation deadline: %s", got.Sub(now))
	}
}

// A handshake port already taken: the extension runs, INVOKE never waits,
// and it says why once.
func TestHandshakeListenFailureDoesNotWait(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	api := newFakeExtensionsAPI(t)
	log := &logRecorder{}
	l := newTestLifecycle(api, newFakeCollector(), nil)
	l.listenHandshake = func() (net.Listener, error) { return net.Listen("tcp", taken.Addr().String()) }
	l.flushTimeout = 5 * time.Second
	l.logf = log.logf
	code := runAsync(l)
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	start := time.Now()
	invoke(api, "req-1", 10*time.Second)
	if !api.waitNextCalls(2, time.Second) || time.Since(start) > 300*time.Millisecond {
		t.Fatal("INVOKE waited although the handshake could not listen")
	}
	if len(log.matching("flush handshake off")) != 1 {
		t.Errorf("listen failure not logged once: %v", log.lines)
	}
	shutdownAndWait(t, api, code)
}

// Lambda may start the runtime once every extension has registered, and the
// function registers for the handshake in its init: the handshake answers
// before the extension's register call returns.
func TestHandshakeListensBeforeRegistering(t *testing.T) {
	api := newFakeExtensionsAPI(t)
	l, base, _ := handshakeLifecycle(t, api, newFakeCollector(), time.Second)
	registered := make(chan int, 1)
	api.onRegister = func() {
		resp, err := http.Post(base+"/v1/runtime", "", nil)
		if err != nil {
			registered <- -1
			return
		}
		_ = resp.Body.Close()
		registered <- resp.StatusCode
	}
	code := runAsync(l)
	if got := <-registered; got != http.StatusNoContent {
		t.Fatalf("POST /v1/runtime during the extension's register = %d, want 204", got)
	}
	if !api.waitNextCalls(1, 5*time.Second) {
		t.Fatal("extension never called /event/next")
	}
	shutdownAndWait(t, api, code)
}
