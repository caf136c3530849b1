package lambdaext

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeExtensionsAPI is an in-process Lambda Extensions API. Tests push events
// with send; every request is recorded.
type fakeExtensionsAPI struct {
	t      *testing.T
	server *httptest.Server
	events chan extensionEvent
	closed chan struct{} // closed at cleanup: releases blocked /event/next calls

	mu        sync.Mutex
	requests  []recordedRequest
	nextCalls int
	// onRegister, if set, runs inside the register call before it answers.
	onRegister func()
}

type recordedRequest struct {
	method, path string
	header       http.Header
	body         string
}

const fakeExtensionID = "ext-id-1234"

func newFakeExtensionsAPI(t *testing.T) *fakeExtensionsAPI {
	f := &fakeExtensionsAPI{t: t, events: make(chan extensionEvent, 8), closed: make(chan struct{})}
	f.server = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(func() {
		close(f.closed)
		f.server.Close()
	})
	return f
}

// runtimeAPI is the value Lambda puts in AWS_LAMBDA_RUNTIME_API.
func (f *fakeExtensionsAPI) runtimeAPI() string {
	return strings.TrimPrefix(f.server.URL, "http://")
}

func (f *fakeExtensionsAPI) send(ev extensionEvent) { f.events <- ev }

func (f *fakeExtensionsAPI) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recordedRequest{r.Method, r.URL.Path, r.Header.Clone(), string(body)})
	f.mu.Unlock()

	const prefix = "/2020-01-01/extension"
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix+"/register":
		if f.onRegister != nil {
			f.onRegister()
		}
		w.Header().Set(headerExtensionIdentifier, fakeExtensionID)
		_, _ = w.Write([]byte(`{"functionName":"fn","functionVersion":"$LATEST","handler":"app.handler"}`))
	case r.Method == http.MethodGet && r.URL.Path == prefix+"/event/next":
		if r.Header.Get(headerExtensionIdentifier) != fakeExtensionID {
			http.Error(w, `{"errorType":"Extension.InvalidExtensionId"}`, http.StatusForbidden)
			return
		}
		f.mu.Lock()
		f.nextCalls++
		f.mu.Unlock()
		select {
		case ev := <-f.events:
			_ = json.NewEncoder(w).Encode(ev)
		case <-r.Context().Done():
		case <-f.closed:
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
		}
	case r.Method == http.MethodPost && (r.URL.Path == prefix+"/init/error" || r.URL.Path == prefix+"/exit/error"):
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"OK"}`))
	default:
		http.NotFound(w, r)
	}
}

// recorded returns the requests made to path (without the API prefix).
func (f *fakeExtensionsAPI) recorded(path string) []recordedRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recordedRequest
	for _, r := range f.requests {
		if r.path == "/2020-01-01/extension"+path {
			out = append(out, r)
		}
	}
	return out
}

// waitNextCalls waits until /event/next has been called n times.
func (f *fakeExtensionsAPI) waitNextCalls(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		got := f.nextCalls
		f.mu.Unlock()
		if got >= n {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}
