package lambdaext

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Lambda Extensions API (2020-01-01) paths and headers.
const (
	extensionAPIVersion = "2020-01-01"

	headerExtensionName       = "Lambda-Extension-Name"
	headerExtensionIdentifier = "Lambda-Extension-Identifier"
	headerFunctionErrorType   = "Lambda-Extension-Function-Error-Type"

	eventInvoke   = "INVOKE"
	eventShutdown = "SHUTDOWN"
)

// extensionEvent is the body of a /event/next response. Only the fields the
// lifecycle uses are decoded.
type extensionEvent struct {
	EventType      string `json:"eventType"`
	DeadlineMs     int64  `json:"deadlineMs"`
	RequestID      string `json:"requestId,omitempty"`
	ShutdownReason string `json:"shutdownReason,omitempty"`
}

// errorReport is the body of /init/error and /exit/error.
type errorReport struct {
	ErrorMessage string   `json:"errorMessage"`
	ErrorType    string   `json:"errorType"`
	StackTrace   []string `json:"stackTrace"`
}

// extensionClient talks to the Lambda Extensions API.
type extensionClient struct {
	baseURL string // http://${AWS_LAMBDA_RUNTIME_API}/2020-01-01/extension
	name    string
	id      string // set by register
	http    *http.Client
}

func newExtensionClient(runtimeAPI, name string) *extensionClient {
	return &extensionClient{
		baseURL: "http://" + runtimeAPI + "/" + extensionAPIVersion + "/extension",
		name:    name,
		// No client timeout: /event/next blocks until Lambda has an event.
		http: &http.Client{},
	}
}

// register registers the extension for INVOKE and SHUTDOWN events and keeps
// the identifier Lambda returns.
func (c *extensionClient) register(ctx context.Context) error {
	body, _ := json.Marshal(map[string][]string{"events": {eventInvoke, eventShutdown}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/register", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(headerExtensionName, c.name)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("register: %s: %s", resp.Status, readSnippet(resp.Body))
	}
	c.id = resp.Header.Get(headerExtensionIdentifier)
	if c.id == "" {
		return errors.New("register: response has no " + headerExtensionIdentifier + " header")
	}
	return nil
}

// next blocks until Lambda sends the next event.
func (c *extensionClient) next(ctx context.Context) (extensionEvent, error) {
	var ev extensionEvent
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/event/next", nil)
	if err != nil {
		return ev, err
	}
	req.Header.Set(headerExtensionIdentifier, c.id)
	resp, err := c.http.Do(req)
	if err != nil {
		return ev, fmt.Errorf("event/next: %w", err)
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return ev, fmt.Errorf("event/next: %s: %s", resp.Status, readSnippet(resp.Body))
	}
	if err := json.NewDecoder(resp.Body).Decode(&ev); err != nil {
		return ev, fmt.Errorf("event/next: decoding event: %w", err)
	}
	return ev, nil
}

// initError reports a failure during the init phase; Lambda then fails the
// init with errorType and shows the message.
func (c *extensionClient) initError(ctx context.Context, errorType string, cause error) error {
	return c.reportError(ctx, "/init/error", errorType, cause)
}

// exitError reports a failure that makes the extension exit after init.
func (c *extensionClient) exitError(ctx context.Context, errorType string, cause error) error {
	return c.reportError(ctx, "/exit/error", errorType, cause)
}

func (c *extensionClient) reportError(ctx context.Context, path, errorType string, cause error) error {
	body, _ := json.Marshal(errorReport{
		ErrorMessage: cause.Error(),
		ErrorType:    errorType,
		StackTrace:   []string{},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set(headerExtensionIdentifier, c.id)
	req.Header.Set(headerFunctionErrorType, errorType)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer drain(resp)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s: %s: %s", path, resp.Status, readSnippet(resp.Body))
	}
	return nil
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

func readSnippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 512))
	return string(bytes.TrimSpace(b))
}
