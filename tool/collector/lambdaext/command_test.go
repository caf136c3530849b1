package lambdaext

import "testing"

func TestNormalizeConfigURI(t *testing.T) {
	cases := map[string]string{
		"":                         "file:/opt/collector-config/config.yaml",
		"/var/task/collector.yaml": "file:/var/task/collector.yaml",
		"file:/opt/x.yaml":         "file:/opt/x.yaml",
		"env:COLLECTOR_CONFIG":     "env:COLLECTOR_CONFIG",
		"yaml:exporters::debug::verbosity: basic": "yaml:exporters::debug::verbosity: basic",
		"https://example.com/config.yaml":         "https://example.com/config.yaml",
		"http://127.0.0.1:8000/config.yaml":       "http://127.0.0.1:8000/config.yaml",
		"relative/config.yaml":                    "file:relative/config.yaml",
	}
	for in, want := range cases {
		if got := normalizeConfigURI(in); got != want {
			t.Errorf("normalizeConfigURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfigURIFromEnvironment(t *testing.T) {
	t.Setenv(configURIEnv, "/tmp/c.yaml")
	if got := configURI(); got != "file:/tmp/c.yaml" {
		t.Fatalf("configURI() = %q", got)
	}
	t.Setenv(configURIEnv, "")
	if got := configURI(); got != "file:"+defaultConfigURI {
		t.Fatalf("configURI() = %q", got)
	}
}
