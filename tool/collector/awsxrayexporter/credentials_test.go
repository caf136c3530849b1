package awsxrayexporter

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/xray"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestRegionResolution(t *testing.T) {
	cases := []struct {
		configured string
		vars       map[string]string
		want       string
	}{
		{"eu-west-1", map[string]string{"AWS_REGION": "us-east-1"}, "eu-west-1"},
		{"", map[string]string{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "us-east-1"}, "ap-south-1"},
		{"", map[string]string{"AWS_DEFAULT_REGION": "sa-east-1"}, "sa-east-1"},
		{" ", map[string]string{"AWS_REGION": "us-west-2"}, "us-west-2"},
	}
	for _, tc := range cases {
		got, err := resolveRegion(tc.configured, env(tc.vars))
		if err != nil || got != tc.want {
			t.Errorf("resolveRegion(%q, %v) = %q, %v; want %q", tc.configured, tc.vars, got, err, tc.want)
		}
	}
	if _, err := resolveRegion("", env(nil)); err == nil || !strings.Contains(err.Error(), "AWS_REGION") {
		t.Errorf("no region anywhere: %v; want an error naming AWS_REGION", err)
	}
}

func TestCredentialsFromTheEnvironment(t *testing.T) {
	p, err := environmentCredentials(env(map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDLAMBDA", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "token",
	}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Retrieve(context.Background())
	if err != nil || c.AccessKeyID != "AKIDLAMBDA" || c.SecretAccessKey != "secret" || c.SessionToken != "token" {
		t.Fatalf("credentials %+v, %v", c, err)
	}
	for _, vars := range []map[string]string{nil, {"AWS_ACCESS_KEY_ID": "AKID"}, {"AWS_SECRET_ACCESS_KEY": "s"}} {
		if _, err := environmentCredentials(env(vars)); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
			t.Errorf("%v: %v; want an error naming the variables", vars, err)
		}
	}
}

// With no region configured the exporter signs for, and sends to, the
// function's region from the environment (a deploy to another region).
func TestStartUsesTheFunctionsRegion(t *testing.T) {
	awsTestEnv(t)
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	x := &recordingXRay{}
	srv := httptest.NewServer(x)
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = srv.URL
	e := newXrayExporter(cfg, exportertest.NewNopSettings(Type))
	var region string
	e.clientOptions = []func(*xray.Options){func(o *xray.Options) { region = o.Region }}
	if err := e.start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	if region != "eu-central-1" {
		t.Errorf("client region %q, want AWS_REGION's", region)
	}
	if err := e.pushTraces(context.Background(), manySpans(1)); err != nil {
		t.Fatal(err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !strings.Contains(x.auth, "/eu-central-1/xray/aws4_request") {
		t.Errorf("Authorization %q is not signed for eu-central-1", x.auth)
	}

	// Without credentials the exporter does not start, and says why.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	if err := newXrayExporter(cfg, exportertest.NewNopSettings(Type)).start(context.Background(), componenttest.NewNopHost()); err == nil {
		t.Fatal("started without credentials")
	}
}
