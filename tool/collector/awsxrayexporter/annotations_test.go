package awsxrayexporter

import (
	"testing"

	"go.opentelemetry.io/collector/confmap"
)

// The settings a team brings from contrib's awsxray exporter: indexed_attributes
// and index_all_attributes reach resource attributes (as otel.resource.<key>),
// and annotation keys keep their dots unless allow_dots_in_annotation_keys is
// false.

func defaultConfig(change func(*Config)) *Config {
	cfg := createDefaultConfig().(*Config)
	if change != nil {
		change(cfg)
	}
	return cfg
}

func TestDotsInAnnotationKeysAreKeptByDefault(t *testing.T) {
	if !defaultConfig(nil).AllowDotsInAnnotationKeys {
		t.Fatal("allow_dots_in_annotation_keys defaults to false, contrib's default is true")
	}
	indexed := func(c *Config) { c.IndexedAttributes = []string{"app.greeting.name"} }
	greet := convert(t, defaultConfig(indexed), loadShape(t, "api_gateway_orders")).doc("order_service.greet", 0)
	want(t, "annotations", greet["annotations"], map[string]any{"app.greeting.name": "OpenTelemetry"})

	underscores := defaultConfig(func(c *Config) { indexed(c); c.AllowDotsInAnnotationKeys = false })
	greet = convert(t, underscores, loadShape(t, "api_gateway_orders")).doc("order_service.greet", 0)
	want(t, "annotations without dots", greet["annotations"], map[string]any{"app_greeting_name": "OpenTelemetry"})
}

func TestAnnotationKeyCharacters(t *testing.T) {
	cases := map[string][2]string{ // key: {with dots allowed, without}
		"app.greeting.name":          {"app.greeting.name", "app_greeting_name"},
		"http.response.status_code":  {"http.response.status_code", "http_response_status_code"},
		"app-name@v2 x":              {"app_name_v2_x", "app_name_v2_x"},
		"ünïcode.key":                {"_n_code.key", "_n_code_key"},
		"otel.resource.service.name": {"otel.resource.service.name", "otel_resource_service_name"},
		"Already_Valid_123":          {"Already_Valid_123", "Already_Valid_123"},
	}
	for key, wanted := range cases {
		if got := annotationKey(key, true); got != wanted[0] {
			t.Errorf("annotationKey(%q, dots) = %q, want %q", key, got, wanted[0])
		}
		if got := annotationKey(key, false); got != wanted[1] {
			t.Errorf("annotationKey(%q, no dots) = %q, want %q", key, got, wanted[1])
		}
	}
}

func TestIndexAllAttributesIndexesTheResourceOnSegments(t *testing.T) {
	c := convert(t, defaultConfig(func(c *Config) { c.IndexAllAttributes = true }), loadShape(t, "api_gateway_orders"))
	h := c.doc("order-service", 0)
	want(t, "service.name", path(h, "annotations", "otel.resource.service.name"), "order-service")
	want(t, "faas.max_memory", path(h, "annotations", "otel.resource.faas.max_memory"), 512)
	want(t, "cloud.region", path(h, "annotations", "otel.resource.cloud.region"), "us-east-1")
	if path(h, "metadata", "default", "otel.resource.service.name") != nil {
		t.Errorf("an indexed resource attribute is repeated in metadata: %v", h["metadata"])
	}
	greet := c.doc("order_service.greet", 0)
	for k := range greet["annotations"].(map[string]any) {
		if len(k) > len(resourcePrefix) && k[:len(resourcePrefix)] == resourcePrefix {
			t.Errorf("subsegment %q carries resource annotation %s: resources belong on segments", greet["name"], k)
		}
	}

	noDots := defaultConfig(func(c *Config) { c.IndexAllAttributes = true; c.AllowDotsInAnnotationKeys = false })
	h = convert(t, noDots, loadShape(t, "api_gateway_orders")).doc("order-service", 0)
	want(t, "service.name without dots", path(h, "annotations", "otel_resource_service_name"), "order-service")
}

func TestIndexedAttributesNameResourceKeys(t *testing.T) {
	cfg := defaultConfig(func(c *Config) { c.IndexedAttributes = []string{"otel.resource.service.name"} })
	c := convert(t, cfg, loadShape(t, "api_gateway_orders"))
	h := c.doc("order-service", 0)
	want(t, "annotations", h["annotations"], map[string]any{"otel.resource.service.name": "order-service"})
	want(t, "the other resource attributes stay metadata", str(h, "metadata", "default", "otel.resource.faas.name"), "order-service")
	if path(h, "metadata", "default", "otel.resource.service.name") != nil {
		t.Errorf("service.name is both annotation and metadata: %v", h["metadata"])
	}
	if a := c.doc("order_service.greet", 0)["annotations"]; a != nil {
		t.Errorf("subsegment annotations %v: resource attributes belong on segments", a)
	}

	// A root call's service segment carries the resource the same way.
	producer := convert(t, cfg, loadShape(t, "sqs_producer"))
	svc := producer.docs[str(producer.doc("SQS.PurgeQueue", 0), "parent_id")]
	want(t, "service segment annotation", path(svc, "annotations", "otel.resource.service.name"), "order-service")
}

func TestSpanCanAskForResourceAnnotations(t *testing.T) {
	td := loadShape(t, "api_gateway_orders")
	c := convert(t, defaultConfig(nil), td)
	c.span("order-service", 0).Attributes().PutEmptySlice(annotationsAttr).AppendEmpty().SetStr("otel.resource.cloud.region")
	h := convert(t, defaultConfig(nil), td).doc("order-service", 0)
	want(t, "annotation from aws.xray.annotations", path(h, "annotations", "otel.resource.cloud.region"), "us-east-1")
}

func TestResourceValuesXRayCannotIndexStayMetadata(t *testing.T) {
	td := loadShape(t, "api_gateway_orders")
	groups := td.ResourceSpans().At(0).Resource().Attributes().PutEmptySlice("aws.log.group.names")
	groups.AppendEmpty().SetStr("/aws/lambda/order-service")
	h := convert(t, defaultConfig(func(c *Config) { c.IndexAllAttributes = true }), td).doc("order-service", 0)
	if path(h, "annotations", "otel.resource.aws.log.group.names") != nil {
		t.Errorf("a list became an annotation: %v", h["annotations"])
	}
	want(t, "list in metadata", path(h, "metadata", "default", "otel.resource.aws.log.group.names", 0), "/aws/lambda/order-service")
}

func TestAllowDotsFromYAML(t *testing.T) {
	for raw, wanted := range map[string]bool{"": true, "true": true, "false": false} {
		cfg := createDefaultConfig().(*Config)
		settings := map[string]any{"region": "us-east-1"}
		if raw != "" {
			settings["allow_dots_in_annotation_keys"] = raw == "true"
		}
		if err := confmap.NewFromStringMap(settings).Unmarshal(cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.AllowDotsInAnnotationKeys != wanted {
			t.Errorf("allow_dots_in_annotation_keys %q: got %v, want %v", raw, cfg.AllowDotsInAnnotationKeys, wanted)
		}
	}
}
