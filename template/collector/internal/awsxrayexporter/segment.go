package awsxrayexporter

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// X-Ray segment document, as described in the X-Ray developer guide
// ("AWS X-Ray segment documents"). Only the fields this exporter fills.
type segment struct {
	Name        string                    `json:"name"`
	ID          string                    `json:"id"`
	TraceID     string                    `json:"trace_id"`
	StartTime   float64                   `json:"start_time"`
	EndTime     float64                   `json:"end_time"`
	ParentID    string                    `json:"parent_id,omitempty"`
	Type        string                    `json:"type,omitempty"`
	Namespace   string                    `json:"namespace,omitempty"`
	Origin      string                    `json:"origin,omitempty"`
	Error       bool                      `json:"error,omitempty"`
	Throttle    bool                      `json:"throttle,omitempty"`
	Fault       bool                      `json:"fault,omitempty"`
	Cause       *cause                    `json:"cause,omitempty"`
	HTTP        *httpInfo                 `json:"http,omitempty"`
	AWS         map[string]any            `json:"aws,omitempty"`
	SQL         map[string]string         `json:"sql,omitempty"`
	Service     map[string]string         `json:"service,omitempty"`
	Annotations map[string]any            `json:"annotations,omitempty"`
	Metadata    map[string]map[string]any `json:"metadata,omitempty"`
}

type cause struct {
	Exceptions []exception `json:"exceptions"`
}

type exception struct {
	ID      string `json:"id"`
	Type    string `json:"type,omitempty"`
	Message string `json:"message,omitempty"`
	Remote  bool   `json:"remote,omitempty"`
}

type httpInfo struct {
	Request  map[string]any `json:"request,omitempty"`
	Response map[string]any `json:"response,omitempty"`
}

// Attribute keys read from spans and resources: current semantic conventions
// first, then the older names still emitted by some instrumentations.
var (
	keysHTTPMethod    = []string{"http.request.method", "http.method"}
	keysHTTPURL       = []string{"url.full", "http.url"}
	keysHTTPScheme    = []string{"url.scheme", "http.scheme"}
	keysHTTPHost      = []string{"server.address", "http.host", "net.host.name", "net.peer.name"}
	keysHTTPTarget    = []string{"url.path", "http.target"}
	keysHTTPStatus    = []string{"http.response.status_code", "http.status_code"}
	keysUserAgent     = []string{"user_agent.original", "http.user_agent"}
	keysClientIP      = []string{"client.address", "http.client_ip"}
	keysContentLength = []string{"http.response.body.size", "http.response_content_length"}
	keysDBStatement   = []string{"db.query.text", "db.statement"}
	keysDBName        = []string{"db.namespace", "db.name"}
	keysAWSRequestID  = []string{"aws.request_id", "aws.requestId"}
	keysQueueURL      = []string{"aws.sqs.queue_url", "messaging.url"}
	keysPeer          = []string{"peer.service", "server.address", "net.peer.name"}
)

const (
	annotationsAttr = "aws.xray.annotations"
	maxNameLength   = 200
	defaultName     = "span"
)

// converter turns OTLP traces into X-Ray segment documents.
type converter struct {
	indexed  map[string]bool
	indexAll bool
}

func newConverter(cfg *Config) converter {
	c := converter{indexed: map[string]bool{}, indexAll: cfg.IndexAllAttributes}
	for _, k := range cfg.IndexedAttributes {
		c.indexed[k] = true
	}
	return c
}

// documents returns one JSON segment document per span.
func (c converter) documents(td ptrace.Traces) []string {
	var docs []string
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource().Attributes()
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				seg := c.segment(spans.At(k), res)
				b, err := json.Marshal(seg)
				if err != nil {
					continue
				}
				docs = append(docs, string(b))
			}
		}
	}
	return docs
}

// segment converts one span. SERVER and CONSUMER spans and spans without a
// parent become segments; the others become subsegments of their parent.
func (c converter) segment(span ptrace.Span, res pcommon.Map) segment {
	attrs := span.Attributes()
	used := map[string]bool{}
	get := func(keys []string) (pcommon.Value, bool) {
		for _, k := range keys {
			if v, ok := attrs.Get(k); ok {
				used[k] = true
				return v, true
			}
		}
		return pcommon.Value{}, false
	}
	getStr := func(keys []string) string {
		if v, ok := get(keys); ok {
			return v.AsString()
		}
		return ""
	}

	kind := span.Kind()
	isSegment := kind == ptrace.SpanKindServer || kind == ptrace.SpanKindConsumer || span.ParentSpanID().IsEmpty()

	seg := segment{
		ID:        spanIDHex(span.SpanID()),
		TraceID:   xrayTraceID(span.TraceID()),
		StartTime: epochSeconds(span.StartTimestamp()),
		EndTime:   epochSeconds(span.EndTimestamp()),
	}
	if !span.ParentSpanID().IsEmpty() {
		seg.ParentID = spanIDHex(span.ParentSpanID())
	}
	if !isSegment {
		seg.Type = "subsegment"
	}

	// Name and namespace.
	isAWS := false
	if v, ok := attrs.Get("rpc.system"); ok && v.AsString() == "aws-api" {
		isAWS = true
		used["rpc.system"] = true
	}
	_, isDB := attrs.Get("db.system")
	name := span.Name()
	switch {
	case isAWS:
		if svc := getStr([]string{"rpc.service"}); svc != "" {
			name = svc
		}
		seg.Namespace = "aws"
	case isSegment:
		if v, ok := res.Get("service.name"); ok && v.AsString() != "" {
			name = v.AsString()
		}
	case kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer:
		if p := getStr(keysPeer); p != "" {
			name = p
		}
		if db := getStr(keysDBName); isDB && db != "" && peer(attrs) != "" {
			name = db + "@" + peer(attrs)
		}
		seg.Namespace = "remote"
	}
	seg.Name = sanitizeName(name)

	// HTTP.
	status := int64(0)
	if v, ok := get(keysHTTPStatus); ok {
		status = intValue(v)
	}
	req := map[string]any{}
	if m := getStr(keysHTTPMethod); m != "" {
		req["method"] = m
	}
	if u := getStr(keysHTTPURL); u != "" {
		req["url"] = u
	} else if host := hostForURL(attrs); host != "" && req["method"] != nil {
		scheme := getStr(keysHTTPScheme)
		if scheme == "" {
			scheme = "http"
		}
		req["url"] = scheme + "://" + host + getStr(keysHTTPTarget)
	}
	if ua := getStr(keysUserAgent); ua != "" {
		req["user_agent"] = ua
	}
	if ip := getStr(keysClientIP); ip != "" {
		req["client_ip"] = ip
	}
	if len(req) > 0 && kind == ptrace.SpanKindClient {
		req["traced"] = false
	}
	resp := map[string]any{}
	if status > 0 {
		resp["status"] = status
	}
	if v, ok := get(keysContentLength); ok {
		resp["content_length"] = intValue(v)
	}
	if len(req) > 0 || len(resp) > 0 {
		seg.HTTP = &httpInfo{}
		if len(req) > 0 {
			seg.HTTP.Request = req
		}
		if len(resp) > 0 {
			seg.HTTP.Response = resp
		}
	}

	// Errors: X-Ray "error" is a client error (4xx), "throttle" a 429 and
	// "fault" a server error (5xx or a failed span without an HTTP status).
	switch {
	case status == 429:
		seg.Error, seg.Throttle = true, true
	case status >= 400 && status < 500:
		seg.Error = true
	case status >= 500:
		seg.Fault = true
	case span.Status().Code() == ptrace.StatusCodeError:
		seg.Fault = true
	}
	if seg.Error || seg.Fault {
		seg.Cause = exceptions(span, kind == ptrace.SpanKindClient)
	}

	// AWS, SQL, origin, service.
	seg.AWS = map[string]any{}
	if xr := sdkInfo(res); len(xr) > 0 {
		seg.AWS["xray"] = xr
	}
	if isAWS {
		if op := getStr([]string{"rpc.method"}); op != "" {
			seg.AWS["operation"] = op
		}
		if id := getStr(keysAWSRequestID); id != "" {
			seg.AWS["request_id"] = id
		}
		if q := getStr(keysQueueURL); q != "" {
			seg.AWS["queue_url"] = q
		}
		if v, ok := get([]string{"aws.dynamodb.table_names"}); ok && v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() > 0 {
			seg.AWS["table_name"] = v.Slice().At(0).AsString()
		}
		if r, ok := res.Get("cloud.region"); ok {
			seg.AWS["region"] = r.AsString()
		}
	}
	if len(seg.AWS) == 0 {
		seg.AWS = nil
	}
	if isDB {
		sql := map[string]string{"database_type": getStr([]string{"db.system"})}
		if q := getStr(keysDBStatement); q != "" {
			sql["sanitized_query"] = q
		}
		if u := getStr([]string{"db.user"}); u != "" {
			sql["user"] = u
		}
		if h := peer(attrs); h != "" {
			sql["url"] = h
		}
		seg.SQL = sql
	}
	if isSegment {
		seg.Origin = origin(res)
		if v, ok := res.Get("service.version"); ok && v.AsString() != "" {
			seg.Service = map[string]string{"version": v.AsString()}
		}
	}

	// Annotations and metadata from the remaining attributes.
	indexed := map[string]bool{}
	if v, ok := attrs.Get(annotationsAttr); ok && v.Type() == pcommon.ValueTypeSlice {
		used[annotationsAttr] = true
		for i := 0; i < v.Slice().Len(); i++ {
			indexed[v.Slice().At(i).AsString()] = true
		}
	}
	attrs.Range(func(k string, v pcommon.Value) bool {
		if used[k] {
			return true
		}
		if (c.indexAll || c.indexed[k] || indexed[k]) && annotationValue(v) != nil {
			if seg.Annotations == nil {
				seg.Annotations = map[string]any{}
			}
			seg.Annotations[annotationKey(k)] = annotationValue(v)
			return true
		}
		if seg.Metadata == nil {
			seg.Metadata = map[string]map[string]any{"default": {}}
		}
		seg.Metadata["default"][k] = v.AsRaw()
		return true
	})
	return seg
}

// xrayTraceID formats an OTLP trace ID as an X-Ray trace ID:
// "1-" + the first 8 hex digits (the epoch seconds when the ID was made by an
// X-Ray ID generator) + "-" + the remaining 24.
func xrayTraceID(id pcommon.TraceID) string {
	h := hex.EncodeToString(id[:])
	return "1-" + h[:8] + "-" + h[8:]
}

func epochSeconds(ts pcommon.Timestamp) float64 {
	ns := int64(ts)
	// Keep microsecond precision, which X-Ray displays.
	return float64(ns/1000) / 1e6
}

func intValue(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return int64(v.Double())
	default:
		n, _ := strconv.ParseInt(v.AsString(), 10, 64)
		return n
	}
}

func peer(attrs pcommon.Map) string {
	for _, k := range []string{"server.address", "net.peer.name"} {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			return v.AsString()
		}
	}
	return ""
}

func hostForURL(attrs pcommon.Map) string {
	for _, k := range keysHTTPHost {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			host := v.AsString()
			if p, ok := attrs.Get("server.port"); ok {
				host += ":" + p.AsString()
			}
			return host
		}
	}
	return ""
}

// sanitizeName keeps the characters X-Ray accepts in segment names (Unicode
// letters and digits, whitespace and _ . : / % & # = + \ - @) and truncates.
func sanitizeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) || strings.ContainsRune(`_.:/%&#=+\-@`, r) {
			b.WriteRune(r)
		}
	}
	s := strings.TrimSpace(b.String())
	if s == "" {
		return defaultName
	}
	if r := []rune(s); len(r) > maxNameLength {
		s = string(r[:maxNameLength])
	}
	return s
}

// annotationKey keeps the characters X-Ray accepts in annotation keys
// (letters, digits, underscore).
func annotationKey(k string) string {
	return strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			return r
		}
		return '_'
	}, k)
}

// annotationValue returns the value if X-Ray can index it (string, number,
// bool), else nil.
func annotationValue(v pcommon.Value) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	default:
		return nil
	}
}

// exceptions builds the X-Ray cause from the span's "exception" events, or
// from its status message when it has none.
func exceptions(span ptrace.Span, remote bool) *cause {
	var out []exception
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		if ev.Name() != "exception" {
			continue
		}
		ex := exception{ID: randomID(), Remote: remote}
		if v, ok := ev.Attributes().Get("exception.type"); ok {
			ex.Type = v.AsString()
		}
		if v, ok := ev.Attributes().Get("exception.message"); ok {
			ex.Message = v.AsString()
		}
		out = append(out, ex)
	}
	if len(out) == 0 {
		if msg := span.Status().Message(); msg != "" {
			out = append(out, exception{ID: randomID(), Message: msg, Remote: remote})
		}
	}
	if len(out) == 0 {
		return nil
	}
	return &cause{Exceptions: out}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sdkInfo describes the instrumentation SDK from the resource.
func sdkInfo(res pcommon.Map) map[string]string {
	out := map[string]string{}
	if v, ok := res.Get("telemetry.sdk.language"); ok {
		out["sdk"] = "opentelemetry for " + v.AsString()
	}
	if v, ok := res.Get("telemetry.sdk.version"); ok {
		out["sdk_version"] = v.AsString()
	}
	return out
}

// origin maps the resource's cloud.platform to the X-Ray origin.
func origin(res pcommon.Map) string {
	v, ok := res.Get("cloud.platform")
	if !ok {
		return ""
	}
	switch v.AsString() {
	case "aws_lambda":
		return "AWS::Lambda::Function"
	case "aws_ec2":
		return "AWS::EC2::Instance"
	case "aws_ecs":
		return "AWS::ECS::Container"
	case "aws_eks":
		return "AWS::EKS::Container"
	case "aws_elastic_beanstalk":
		return "AWS::ElasticBeanstalk::Environment"
	case "aws_app_runner":
		return "AWS::AppRunner::Service"
	}
	return ""
}

func spanIDHex(id pcommon.SpanID) string {
	return hex.EncodeToString(id[:])
}
