package awsxrayexporter

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Attribute keys, current semantic conventions first, then the older names the
// Python instrumentations still emit by default.
var (
	keysHTTPMethod   = []string{"http.request.method", "http.method"}
	keysHTTPURL      = []string{"url.full", "http.url"}
	keysHTTPScheme   = []string{"url.scheme", "http.scheme"}
	keysServerHost   = []string{"server.address", "http.host", "net.host.name", "http.server_name", "host.name"}
	keysClientHost   = []string{"server.address", "net.peer.name", "http.host"}
	keysServerPort   = []string{"server.port", "net.host.port"}
	keysClientPort   = []string{"server.port", "net.peer.port"}
	keysHTTPPath     = []string{"url.path"}
	keysHTTPTarget   = []string{"http.target"}
	keysHTTPQuery    = []string{"url.query"}
	keysHTTPStatus   = []string{"http.response.status_code", "http.status_code"}
	keysUserAgent    = []string{"user_agent.original", "http.user_agent"}
	keysForwardedFor = []string{"client.address", "http.client_ip"}
	// Captured request headers (OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST).
	keysForwardedHeader = []string{"http.request.header.x_forwarded_for", "http.request.header.x-forwarded-for"}
	keysPeerAddress     = []string{"network.peer.address", "net.sock.peer.addr", "net.peer.ip"}
	keysContentLength   = []string{"http.response.body.size", "http.response_content_length"}
	httpRequestMarkers  = []string{"http.request.method", "http.method"}
)

// makeHTTP builds the http block from request and response attributes.
func makeHTTP(a *attrs, kind ptrace.SpanKind, isSegment bool) *httpInfo {
	req := &httpRequest{}
	isHTTP := a.peek(httpRequestMarkers...) != ""
	req.Method = truncate(a.str(keysHTTPMethod...), maxFieldLength)
	if isHTTP {
		req.URL = truncate(requestURL(a, kind), maxFieldLength)
		req.UserAgent = truncate(a.str(keysUserAgent...), maxFieldLength)
		clientAddr(a, req, kind, isSegment)
	}
	resp := &httpResponse{}
	if n, ok := a.integer(keysHTTPStatus...); ok {
		resp.Status = n
	}
	if n, ok := a.integer(keysContentLength...); ok && isHTTP {
		resp.ContentLength = n
	}
	info := &httpInfo{}
	if *req != (httpRequest{}) {
		info.Request = req
	}
	if *resp != (httpResponse{}) {
		info.Response = resp
	}
	if info.Request == nil && info.Response == nil {
		return nil
	}
	return info
}

// clientAddr sets client_ip: the original client's address (client.address,
// http.client_ip), which may come from X-Forwarded-For, else the socket peer.
func clientAddr(a *attrs, req *httpRequest, kind ptrace.SpanKind, isSegment bool) {
	if kind == ptrace.SpanKindClient || kind == ptrace.SpanKindProducer {
		return // the peer of an outgoing call is the server, not a client
	}
	peer := a.str(keysPeerAddress...)
	if fwd := a.str(keysForwardedFor...); fwd != "" {
		req.ClientIP = truncate(firstAddress(fwd), maxFieldLength)
		// Not the socket's address: it came from a forwarding header, which a
		// client can forge. X-Ray records that on segments.
		req.XForwardedFor = isSegment && req.ClientIP != peer
		return
	}
	if header := a.strings(keysForwardedHeader...); len(header) > 0 {
		req.ClientIP = truncate(firstAddress(header[0]), maxFieldLength)
		req.XForwardedFor = isSegment
		return
	}
	if peer != "" {
		req.ClientIP = truncate(peer, maxFieldLength)
	}
}

// firstAddress takes the original client from an X-Forwarded-For list.
func firstAddress(s string) string {
	first, _, _ := strings.Cut(s, ",")
	return strings.TrimSpace(first)
}

// requestURL is url.full/http.url as recorded, or one assembled from scheme,
// host, port, path/target and query; either way without the scheme's default
// port.
func requestURL(a *attrs, kind ptrace.SpanKind) string {
	if full := a.str(keysHTTPURL...); full != "" {
		return withoutDefaultPort(full)
	}
	hostKeys, portKeys := keysClientHost, keysClientPort
	if kind == ptrace.SpanKindServer || kind == ptrace.SpanKindConsumer {
		hostKeys, portKeys = keysServerHost, keysServerPort
	}
	host := a.str(hostKeys...)
	if host == "" {
		return ""
	}
	scheme := a.str(keysHTTPScheme...)
	if scheme == "" {
		scheme = "http"
	}
	if _, _, err := net.SplitHostPort(host); err != nil { // no port in the host yet
		if port, ok := a.integer(portKeys...); ok && port > 0 {
			host = net.JoinHostPort(host, strconv.FormatInt(port, 10))
		}
	}
	u := scheme + "://" + host
	if target := a.str(keysHTTPTarget...); target != "" {
		u += target
	} else {
		path := a.str(keysHTTPPath...)
		if path == "" {
			path = "/"
		}
		u += path
		if q := strings.TrimPrefix(a.str(keysHTTPQuery...), "?"); q != "" {
			u += "?" + q
		}
	}
	return withoutDefaultPort(u)
}

// withoutDefaultPort drops :80 from http:// and :443 from https:// URLs.
func withoutDefaultPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	if (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443") {
		u.Host = u.Hostname()
		if strings.Contains(u.Host, ":") { // IPv6 literal
			u.Host = "[" + u.Host + "]"
		}
		return u.String()
	}
	return raw
}
