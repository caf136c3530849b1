package lambdaext

// The flush handshake with the function (docs/architecture.md, "Invoke"):
// the function's SDK exports an invocation's spans after the runtime has
// posted its response, and tells the extension when the collector's receiver
// has answered that export. The extension asks Lambda for its next event only
// then (or at a hard deadline), because Lambda freezes the environment only
// once the runtime and every extension wait in /event/next: so the spans
// leave the function's process without holding its response back.
//
//	POST /v1/runtime                         204: a runtime that will send dones
//	POST /v1/invocations/{request_id}/done   204: that invocation's spans are in the collector

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	handshakeEndpointEnv     = "OTEL_LAMBDA_HANDSHAKE_ENDPOINT"
	defaultHandshakeEndpoint = "127.0.0.1:4319"
	flushTimeoutEnv          = "OTEL_LAMBDA_FLUSH_TIMEOUT"
	defaultFlushTimeout      = time.Second
	// invokeDeadlineMargin is kept free before the invocation's own deadline:
	// the extension is back in /event/next before Lambda would time the
	// invocation out.
	invokeDeadlineMargin = 100 * time.Millisecond
	// seenCapacity bounds the dones kept for invocations the extension has
	// not handled yet (a done may arrive before its INVOKE event). One is the
	// normal case; the bound only matters against a sender posting ids that
	// never come, whose oldest entries are dropped.
	seenCapacity = 64
	// maxRequestIDLength bounds one id: Lambda's are 36-character UUIDs.
	maxRequestIDLength = 128
)

// handshake is the extension's side of the protocol: which dones arrived
// and whether a runtime registered.
type handshake struct {
	mu         sync.Mutex
	registered bool
	// waitingFor is the request id of the INVOKE being handled ("" if none);
	// arrived is closed when its done comes.
	waitingFor string
	arrived    chan struct{}
	// seen holds dones no INVOKE waited for yet, oldest first in ring.
	seen map[string]struct{}
	ring [seenCapacity]string
	next int
}

func newHandshake() *handshake {
	return &handshake{seen: make(map[string]struct{}, seenCapacity)}
}

// register records that a runtime will send a done per invocation.
func (h *handshake) register() {
	h.mu.Lock()
	h.registered = true
	h.mu.Unlock()
}

// done records the done for id: it releases the INVOKE waiting for it, or is
// kept (bounded) for an INVOKE not handled yet.
func (h *handshake) done(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id == h.waitingFor && h.arrived != nil {
		close(h.arrived)
		h.arrived = nil
		return
	}
	if _, dup := h.seen[id]; dup {
		return
	}
	if old := h.ring[h.next]; old != "" {
		delete(h.seen, old)
	}
	h.ring[h.next] = id
	h.next = (h.next + 1) % seenCapacity
	h.seen[id] = struct{}{}
}

// expect starts waiting for the done of id. It returns nil when there is
// nothing to wait for (no runtime registered), else a channel that is closed
// when the done has arrived (already closed if it came first). Call
// stopWaiting once the wait is over.
func (h *handshake) expect(id string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.registered {
		return nil
	}
	ch := make(chan struct{})
	if _, ok := h.seen[id]; ok {
		delete(h.seen, id)
		close(ch)
		return ch
	}
	h.waitingFor, h.arrived = id, ch
	return ch
}

func (h *handshake) stopWaiting() {
	h.mu.Lock()
	h.waitingFor, h.arrived = "", nil
	h.mu.Unlock()
}

// pending is the number of dones kept for INVOKEs not handled yet.
func (h *handshake) pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.seen)
}

// handler serves the protocol.
func (h *handshake) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/runtime", func(w http.ResponseWriter, r *http.Request) {
		discardBody(w, r)
		h.register()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /v1/invocations/{id}/done", func(w http.ResponseWriter, r *http.Request) {
		discardBody(w, r)
		id := r.PathValue("id")
		if id == "" || len(id) > maxRequestIDLength {
			http.Error(w, fmt.Sprintf("the request id must be 1 to %d characters", maxRequestIDLength), http.StatusBadRequest)
			return
		}
		h.done(id)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// discardBody reads what little body a request has (the protocol's bodies
// are empty), so the connection can be reused.
func discardBody(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, 4<<10))
}

// handshakeServer serves h on l until closed.
type handshakeServer struct {
	server *http.Server
	done   chan struct{}
}

func serveHandshake(l net.Listener, h *handshake) *handshakeServer {
	s := &handshakeServer{
		server: &http.Server{
			Handler:           h.handler(),
			ReadHeaderTimeout: 5 * time.Second,
			MaxHeaderBytes:    8 << 10,
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		_ = s.server.Serve(l) // returns when closed
	}()
	return s
}

func (s *handshakeServer) close() {
	_ = s.server.Close()
	<-s.done
}

// handshakeEndpoint is the address the handshake listens on.
func handshakeEndpoint(getenv func(string) string) string {
	if e := strings.TrimSpace(getenv(handshakeEndpointEnv)); e != "" {
		return e
	}
	return defaultHandshakeEndpoint
}

// flushTimeout reads OTEL_LAMBDA_FLUSH_TIMEOUT: milliseconds, as OpenTelemetry's
// other *_TIMEOUT variables, or a duration with its unit ("1s", "250ms").
// Zero turns the wait off.
func flushTimeout(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(flushTimeoutEnv))
	if v == "" {
		return defaultFlushTimeout, nil
	}
	var d time.Duration
	ms, err := strconv.ParseInt(v, 10, 64)
	if err == nil {
		d = time.Duration(ms) * time.Millisecond
	} else {
		d, err = time.ParseDuration(v)
	}
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	if err != nil {
		return defaultFlushTimeout, fmt.Errorf("%s=%q is not a timeout (milliseconds, or a duration such as 1s or 250ms): %v; using %s",
			flushTimeoutEnv, v, err, defaultFlushTimeout)
	}
	return d, nil
}

// flushDeadline is when the extension stops waiting for an invocation's done:
// the flush timeout after now, and never later than the invocation's own
// deadline (deadlineMs, 0 if unknown) minus invokeDeadlineMargin.
func flushDeadline(now time.Time, timeout time.Duration, deadlineMs int64) time.Time {
	deadline := now.Add(timeout)
	if deadlineMs > 0 {
		if d := time.UnixMilli(deadlineMs).Add(-invokeDeadlineMargin); d.Before(deadline) {
			deadline = d
		}
	}
	return deadline
}
