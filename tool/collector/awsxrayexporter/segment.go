package awsxrayexporter

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/fnv"
	"net"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

const (
	annotationsAttr    = "aws.xray.annotations"
	defaultName        = "span"
	maxNameLength      = 200
	maxAnnotationKey   = 500
	maxAnnotationValue = 1000
	// maxFieldLength is the schema's maxLength of http.request fields and user.
	maxFieldLength = 250
	// maxLinks is X-Ray's limit of traces one segment can link to.
	maxLinks = 20
	// resourcePrefix names resource attributes in a segment's metadata and
	// annotations, and in indexed_attributes (contrib's convention).
	resourcePrefix = "otel.resource."
)

// Span flags of OTLP (SpanFlags in trace.proto): whether the parent's
// is_remote is known, and its value.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// converter turns OTLP traces into X-Ray segment documents.
type converter struct {
	indexed   map[string]bool
	indexAll  bool
	allowDots bool
	logGroups []string
	// lambdaLogGroup is /aws/lambda/$AWS_LAMBDA_FUNCTION_NAME when running on Lambda.
	lambdaLogGroup string
	logger         *zap.Logger
	// marshal serialises a document (tests replace it to simulate a failure).
	marshal func(any) ([]byte, error)
}

func newConverter(cfg *Config, logger *zap.Logger) converter {
	if logger == nil {
		logger = zap.NewNop()
	}
	c := converter{
		indexed:   map[string]bool{},
		indexAll:  cfg.IndexAllAttributes,
		allowDots: cfg.AllowDotsInAnnotationKeys,
		logger:    logger,
		marshal:   json.Marshal,
	}
	for _, k := range cfg.IndexedAttributes {
		c.indexed[k] = true
	}
	for _, g := range cfg.AWSLogGroups {
		if g = strings.TrimSpace(g); g != "" {
			c.logGroups = append(c.logGroups, g)
		}
	}
	// Lambda gives extensions the function's name (not its log group, which only the
	// runtime sees): its default log group is the last fallback for segments.
	if fn := os.Getenv("AWS_LAMBDA_FUNCTION_NAME"); fn != "" {
		c.lambdaLogGroup = "/aws/lambda/" + fn
	}
	return c
}

// document is one segment document and the span it came from (indexes into
// the ptrace.Traces it was converted from), so a failed export can be retried
// with exactly the spans whose documents failed.
type document struct {
	json            string
	resource, scope int
	span            int
	traceID, spanID string
	name            string
}

// documents returns one JSON segment document per span. A span whose document
// cannot be serialised is logged (and left out); none disappears silently.
func (c converter) documents(td ptrace.Traces) []document {
	var docs []document
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		res := rss.At(i).Resource().Attributes()
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				for _, seg := range c.segments(span, res) {
					raw, err := c.fit(seg)
					if err != nil {
						c.logger.Error("span not exported: no valid X-Ray segment document",
							zap.String("trace_id", span.TraceID().String()),
							zap.String("span_id", span.SpanID().String()),
							zap.String("span_name", span.Name()),
							zap.Error(err))
						continue
					}
					docs = append(docs, document{
						json: string(raw), resource: i, scope: j, span: k,
						traceID: seg.TraceID, spanID: seg.ID, name: span.Name(),
					})
				}
			}
		}
	}
	return docs
}

// serviceSegmentN derives the ID of the service segment made for a root call.
const serviceSegmentN = 1 << 62

// segments converts one span: usually to one document; a CLIENT or PRODUCER
// span without a parent (a call made outside any request, e.g. during Lambda's
// init phase) to a segment for the service plus the call as its subsegment,
// so X-Ray still draws the callee as a downstream node.
func (c converter) segments(span ptrace.Span, res pcommon.Map) []*segment {
	kind := span.Kind()
	if span.ParentSpanID().IsEmpty() && (kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer) {
		serviceID := derivedID(span.SpanID(), serviceSegmentN)
		call := c.segment(span, res, false, serviceID)
		return []*segment{c.serviceSegment(span, res, call, serviceID), call}
	}
	isSegment := span.ParentSpanID().IsEmpty() || kind == ptrace.SpanKindServer ||
		(isLocalRoot(span) && (kind == ptrace.SpanKindConsumer || kind == ptrace.SpanKindInternal))
	return []*segment{c.segment(span, res, isSegment, "")}
}

// serviceSegment is the segment of the service that made the root call.
func (c converter) serviceSegment(span ptrace.Span, res pcommon.Map, call *segment, id string) *segment {
	name := strAttr(res, "service.name")
	if name == "" {
		name = span.Name()
	}
	seg := &segment{
		Name: sanitizeName(name), ID: id, TraceID: call.TraceID,
		StartTime: call.StartTime, EndTime: call.EndTime, InProgress: call.InProgress,
		Error: call.Error, Throttle: call.Throttle, Fault: call.Fault,
		Origin: origin(res), User: call.User,
		AWS: c.makeAWS(newAttrs(span.Attributes()), res, true, false),
	}
	if v := strAttr(res, "service.version"); v != "" {
		seg.Service = &serviceInfo{Version: v}
	}
	meta := map[string]any{}
	c.describeResource(seg, res, wantedAnnotations(span), meta)
	if len(meta) > 0 {
		seg.Metadata = map[string]map[string]any{"default": meta}
	}
	return seg
}

// segment converts one span to a segment or (with parentOverride, under that
// parent) an independent subsegment.
func (c converter) segment(span ptrace.Span, res pcommon.Map, isSegment bool, parentOverride string) *segment {
	a := newAttrs(span.Attributes())
	kind := span.Kind()
	hasParent := !span.ParentSpanID().IsEmpty()

	seg := &segment{
		ID:        spanIDHex(span.SpanID()),
		TraceID:   xrayTraceID(span.TraceID()),
		StartTime: epochSeconds(span.StartTimestamp()),
	}
	if span.EndTimestamp() == 0 || span.EndTimestamp() < span.StartTimestamp() {
		seg.InProgress = true
	} else {
		end := epochSeconds(span.EndTimestamp())
		seg.EndTime = &end
	}
	if hasParent {
		seg.ParentID = spanIDHex(span.ParentSpanID())
	}
	if parentOverride != "" {
		seg.ParentID = parentOverride
	}
	if !isSegment {
		seg.Type = "subsegment"
	}

	isAWS := a.peek("rpc.system") == "aws-api"
	if isAWS {
		a.str("rpc.system")
	}
	db := sqlEngine(a)
	seg.Name = sanitizeName(c.name(span, res, a, isSegment, isAWS, db))
	switch {
	case isSegment:
	case isAWS:
		seg.Namespace = "aws"
	case kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer:
		seg.Namespace = "remote"
	}

	seg.HTTP = makeHTTP(a, kind, isSegment)
	status := int64(0)
	if seg.HTTP != nil && seg.HTTP.Response != nil {
		status = seg.HTTP.Response.Status
	}
	seg.Error, seg.Throttle, seg.Fault = errorFlags(status, span.Status().Code())
	seg.Cause = makeCause(span, res, seg.Error || seg.Fault)
	seg.AWS = c.makeAWS(a, res, isSegment, isAWS)
	if db != "" {
		seg.SQL = makeSQL(a, db)
	}
	if isSegment {
		seg.Origin = origin(res)
		if v := strAttr(res, "service.version"); v != "" {
			seg.Service = &serviceInfo{Version: v}
		}
	}
	if u := a.str("enduser.id"); u != "" {
		seg.User = truncate(u, maxFieldLength)
	}
	seg.Links = makeLinks(span.Links())
	c.annotateAndDescribe(seg, span, a, res, isSegment)
	return seg
}

// isLocalRoot tells whether the span's parent is in another process (OTLP's
// span flags); without the flags, a FaaS invocation's span is taken as one.
func isLocalRoot(span ptrace.Span) bool {
	if span.ParentSpanID().IsEmpty() {
		return true
	}
	if f := span.Flags(); f&flagHasIsRemote != 0 {
		return f&flagIsRemote != 0
	}
	_, ok := span.Attributes().Get("faas.invocation_id")
	return ok
}

// name picks the X-Ray name: segments are named after the service, AWS SDK
// calls after the AWS service, SQL calls database@host, other outgoing calls
// after the peer; everything else keeps the span name.
func (c converter) name(span ptrace.Span, res pcommon.Map, a *attrs, isSegment, isAWS bool, db string) string {
	kind := span.Kind()
	switch {
	case isSegment:
		if s := strAttr(res, "service.name"); s != "" {
			return s
		}
	case isAWS:
		if s := a.str("rpc.service"); s != "" {
			return strings.TrimPrefix(s, "AWS.SDK.")
		}
		if before, _, ok := strings.Cut(span.Name(), "."); ok {
			return before
		}
	case db != "":
		dbName := a.str("db.namespace", "db.name")
		host := hostOnly(a.peek("server.address", "net.peer.name"))
		switch {
		case dbName != "" && host != "":
			return dbName + "@" + host
		case dbName != "":
			return dbName
		case host != "":
			return host
		}
		return db
	case kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer:
		if s := a.str("peer.service"); s != "" {
			return s
		}
		if s := hostOnly(a.peek("server.address", "net.peer.name", "http.host")); s != "" {
			return s
		}
		if u, err := url.Parse(a.peek("url.full", "http.url")); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
		if s := a.peek("messaging.destination.name", "messaging.destination"); s != "" {
			return s
		}
	}
	return span.Name()
}

// hostOnly drops a ":port" suffix.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func strAttr(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

// errorFlags: X-Ray's "error" is a client error (4xx, with "throttle" for
// 429), "fault" a server error (5xx, or a failed span without such a status).
func errorFlags(status int64, code ptrace.StatusCode) (isError, throttle, fault bool) {
	switch {
	case status == 429:
		return true, true, false
	case status >= 400 && status < 500:
		return true, false, false
	case status >= 500 && status < 600:
		return false, false, true
	case code == ptrace.StatusCodeError:
		return false, false, true
	}
	return false, false, false
}

// annotateAndDescribe fills annotations (attributes named in indexed_attributes
// or the span's aws.xray.annotations, even those another field already used;
// with index_all_attributes every attribute not used elsewhere) and metadata
// (the remaining attributes; on segments also the resource's, see
// describeResource).
func (c converter) annotateAndDescribe(seg *segment, span ptrace.Span, a *attrs, res pcommon.Map, isSegment bool) {
	wanted := wantedAnnotations(span)
	if _, ok := span.Attributes().Get(annotationsAttr); ok {
		a.used[annotationsAttr] = true
	}
	meta := map[string]any{}
	span.Attributes().Range(func(k string, v pcommon.Value) bool {
		explicit := c.indexed[k] || wanted[k]
		if explicit || (c.indexAll && !a.used[k]) {
			if av := annotationValue(v); av != nil {
				c.annotate(seg, k, av)
				return true
			}
		}
		if !a.used[k] {
			meta[k] = metadataValue(v)
		}
		return true
	})
	if isSegment {
		c.describeResource(seg, res, wanted, meta)
	}
	if len(meta) > 0 {
		seg.Metadata = map[string]map[string]any{"default": meta}
	}
}

// describeResource puts a segment's resource attributes under their
// otel.resource.<key> names, the way contrib's exporter does: as annotations
// with index_all_attributes, or when indexed_attributes (or the span's
// aws.xray.annotations) names otel.resource.<key>; as metadata otherwise, and
// when X-Ray cannot index the value (a list, a map).
func (c converter) describeResource(seg *segment, res pcommon.Map, wanted map[string]bool, meta map[string]any) {
	res.Range(func(k string, v pcommon.Value) bool {
		key := resourcePrefix + k
		if c.indexAll || c.indexed[key] || wanted[key] {
			if av := annotationValue(v); av != nil {
				c.annotate(seg, key, av)
				return true
			}
		}
		meta[key] = metadataValue(v)
		return true
	})
}

func (c converter) annotate(seg *segment, key string, value any) {
	if seg.Annotations == nil {
		seg.Annotations = map[string]any{}
	}
	seg.Annotations[annotationKey(key, c.allowDots)] = value
}

// wantedAnnotations is the span's aws.xray.annotations: the attribute names
// (otel.resource.<key> for resource attributes) it asks to index.
func wantedAnnotations(span ptrace.Span) map[string]bool {
	wanted := map[string]bool{}
	if v, ok := span.Attributes().Get(annotationsAttr); ok {
		for _, k := range stringSlice(v) {
			wanted[k] = true
		}
	}
	return wanted
}

func makeLinks(links ptrace.SpanLinkSlice) []link {
	var out []link
	for i := 0; i < links.Len() && len(out) < maxLinks; i++ {
		l := links.At(i)
		if l.TraceID().IsEmpty() || l.SpanID().IsEmpty() {
			continue
		}
		x := link{TraceID: xrayTraceID(l.TraceID()), ID: spanIDHex(l.SpanID())}
		if l.Attributes().Len() > 0 {
			x.Attributes = map[string]any{}
			l.Attributes().Range(func(k string, v pcommon.Value) bool {
				x.Attributes[k] = metadataValue(v)
				return true
			})
		}
		out = append(out, x)
	}
	return out
}

// xrayTraceID formats an OTLP trace ID as an X-Ray trace ID:
// "1-" + the first 8 hex digits (the epoch seconds when the ID was made by an
// X-Ray ID generator) + "-" + the remaining 24.
func xrayTraceID(id pcommon.TraceID) string {
	h := hex.EncodeToString(id[:])
	return "1-" + h[:8] + "-" + h[8:]
}

func epochSeconds(ts pcommon.Timestamp) float64 {
	// Microsecond precision, which X-Ray displays.
	return float64(int64(ts)/1000) / 1e6
}

func spanIDHex(id pcommon.SpanID) string {
	return hex.EncodeToString(id[:])
}

// derivedID is a stable 16-hex-digit ID for the n-th exception of a span, so
// the same span always converts to the same document.
func derivedID(span pcommon.SpanID, n int) string {
	h := fnv.New64a()
	_, _ = h.Write(span[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	_, _ = h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], h.Sum64())
	return hex.EncodeToString(b[:])
}

// origin maps the resource's cloud.platform to the X-Ray origin. Lambda has
// none: Lambda's own function segment is the AWS::Lambda::Function node (see
// docs/decisions.md).
func origin(res pcommon.Map) string {
	if p := strAttr(res, "cloud.provider"); p != "" && p != "aws" {
		return ""
	}
	switch strAttr(res, "cloud.platform") {
	case "aws_ec2":
		return "AWS::EC2::Instance"
	case "aws_ecs":
		switch strAttr(res, "aws.ecs.launchtype") {
		case "ec2":
			return "AWS::ECS::EC2"
		case "fargate":
			return "AWS::ECS::Fargate"
		}
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
