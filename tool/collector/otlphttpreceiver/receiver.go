package otlphttpreceiver

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.uber.org/zap"
)

const (
	protobufContentType = "application/x-protobuf"
	jsonContentType     = "application/json"
)

// tracesReceiver serves OTLP/HTTP traces and hands them to the pipeline.
type tracesReceiver struct {
	cfg    *HTTPConfig
	next   consumer.Traces
	logger *zap.Logger

	server  *http.Server
	stopped chan struct{}
}

func newTracesReceiver(cfg *Config, logger *zap.Logger, next consumer.Traces) *tracesReceiver {
	return &tracesReceiver{cfg: &cfg.Protocols.HTTP, next: next, logger: logger}
}

// Start listens on the endpoint before it returns, so the collector is
// "running" only once the function can post to it.
func (r *tracesReceiver) Start(_ context.Context, host component.Host) error {
	listener, err := net.Listen("tcp", r.cfg.Endpoint)
	if err != nil {
		return fmt.Errorf("otlp receiver: listening on %s: %w", r.cfg.Endpoint, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(r.cfg.tracesPath(), r.handleTraces)
	r.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: r.cfg.ReadHeaderTimeout,
		IdleTimeout:       r.cfg.IdleTimeout,
		ErrorLog:          zap.NewStdLog(r.logger),
	}
	r.stopped = make(chan struct{})
	go func() {
		defer close(r.stopped)
		if err := r.server.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// Shutdown stops accepting requests and waits for those in flight, so every
// request the function got a 200 for is in the pipeline before it stops.
func (r *tracesReceiver) Shutdown(ctx context.Context) error {
	if r.server == nil {
		return nil
	}
	err := r.server.Shutdown(ctx)
	<-r.stopped
	return err
}

// codec is one of the two OTLP/HTTP encodings.
type codec struct {
	contentType string
	unmarshal   func(ptraceotlp.ExportRequest, []byte) error
	marshal     func(ptraceotlp.ExportResponse) ([]byte, error)
	status      func(code int32, message string) []byte
}

var (
	protobufCodec = codec{
		contentType: protobufContentType,
		unmarshal:   ptraceotlp.ExportRequest.UnmarshalProto,
		marshal:     ptraceotlp.ExportResponse.MarshalProto,
		status:      statusProto,
	}
	jsonCodec = codec{
		contentType: jsonContentType,
		unmarshal:   ptraceotlp.ExportRequest.UnmarshalJSON,
		marshal:     ptraceotlp.ExportResponse.MarshalJSON,
		status:      statusJSON,
	}
)

func (r *tracesReceiver) handleTraces(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		plain(w, http.StatusMethodNotAllowed, "405 method not allowed, supported: [POST]")
		return
	}
	var c codec
	switch mediaType(req.Header.Get("Content-Type")) {
	case protobufContentType:
		c = protobufCodec
	case jsonContentType:
		c = jsonCodec
	default:
		plain(w, http.StatusUnsupportedMediaType,
			"415 unsupported media type, supported: ["+jsonContentType+", "+protobufContentType+"]")
		return
	}
	body, status, err := r.readBody(w, req)
	if err != nil {
		fail(w, c, status, err.Error())
		return
	}
	otlp := ptraceotlp.NewExportRequest()
	if err := c.unmarshal(otlp, body); err != nil {
		fail(w, c, http.StatusBadRequest, "cannot decode the OTLP request: "+err.Error())
		return
	}
	td := otlp.Traces()
	rejected := rejectInvalidSpans(td)
	if td.SpanCount() > 0 {
		if err := r.next.ConsumeTraces(req.Context(), td); err != nil {
			if consumererror.IsPermanent(err) {
				// The pipeline will never take this data: not retryable.
				fail(w, c, http.StatusInternalServerError, err.Error())
			} else {
				fail(w, c, http.StatusServiceUnavailable, err.Error())
			}
			r.logger.Debug("the pipeline refused spans", zap.Int("spans", td.SpanCount()), zap.Error(err))
			return
		}
	}
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(rejected))
		resp.PartialSuccess().SetErrorMessage(fmt.Sprintf(
			"%d span(s) rejected: an all-zero trace_id or span_id is invalid", rejected))
	}
	msg, err := c.marshal(resp)
	if err != nil {
		fail(w, c, http.StatusInternalServerError, err.Error())
		return
	}
	write(w, c.contentType, http.StatusOK, msg)
}

// readBody reads the request body, decompressed, bounded by
// max_request_body_size before and after decompression. On error it returns
// the HTTP status to answer with.
func (r *tracesReceiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, int, error) {
	limit := r.cfg.MaxRequestBodySize
	var body io.Reader = http.MaxBytesReader(w, req.Body, limit)
	switch encoding := strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Encoding"))); encoding {
	case "", "identity":
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(body)
		if err != nil {
			return nil, readStatus(err), fmt.Errorf("cannot read the gzip body: %w", err)
		}
		defer gz.Close()
		body = gz
	case "deflate": // HTTP's deflate is the zlib format
		z, err := zlib.NewReader(body)
		if err != nil {
			return nil, readStatus(err), fmt.Errorf("cannot read the deflate body: %w", err)
		}
		defer z.Close()
		body = z
	default:
		return nil, http.StatusUnsupportedMediaType,
			fmt.Errorf("unsupported Content-Encoding %q, supported: gzip, deflate, identity", encoding)
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err == nil && int64(len(data)) > limit {
		err = &http.MaxBytesError{Limit: limit}
	}
	if err != nil {
		return nil, readStatus(err), fmt.Errorf("cannot read the request body: %w", err)
	}
	return data, 0, nil
}

func readStatus(err error) int {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// rejectInvalidSpans removes spans whose trace or span id is all zeros (the
// OTLP specification calls them invalid; X-Ray could not place them) and
// returns how many it removed.
func rejectInvalidSpans(td ptrace.Traces) int {
	rejected := 0
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		scopes := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < scopes.Len(); j++ {
			scopes.At(j).Spans().RemoveIf(func(s ptrace.Span) bool {
				if s.TraceID().IsEmpty() || s.SpanID().IsEmpty() {
					rejected++
					return true
				}
				return false
			})
		}
	}
	return rejected
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// fail answers with a google.rpc.Status in the request's encoding, as the
// OTLP/HTTP specification asks of error responses.
func fail(w http.ResponseWriter, c codec, status int, message string) {
	write(w, c.contentType, status, c.status(rpcCode(status), message))
}

// rpcCode is the google.rpc.Code of an HTTP status this receiver answers with.
func rpcCode(status int) int32 {
	switch status {
	case http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	case http.StatusInternalServerError:
		return 13 // INTERNAL
	default:
		return 3 // INVALID_ARGUMENT: 400, 413, 415
	}
}

func plain(w http.ResponseWriter, status int, message string) {
	write(w, "text/plain; charset=utf-8", status, []byte(message))
}

func write(w http.ResponseWriter, contentType string, status int, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
