package app

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestConfigFlagsEnvAndDefaults(t *testing.T) {
	env := map[string]string{"PHOTOFEED_ADDR": ":9000", "PHOTOFEED_MAX_UPLOAD": "5MiB", "PHOTOFEED_SESSION_TTL": "2h"}
	getenv := func(k string) string { return env[k] }
	c, err := parseServeConfig([]string{"--addr", ":7000"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":7000" {
		t.Errorf("flag must win over env: addr %q", c.Addr)
	}
	if c.MaxUploadBytes != 5<<20 || c.SessionTTL != 2*time.Hour {
		t.Errorf("env not applied: %+v", c)
	}
	if c.DataDir != "./data" || c.MaxPixels != 50_000_000 || c.DecodeMemory != 256<<20 || c.LogicalShards != 1024 || c.ClientIPHeader != "x-forwarded-for" {
		t.Errorf("defaults wrong: %+v", c)
	}
	c, err = parseServeConfig(nil, func(k string) string { return map[string]string{"PHOTOFEED_CLIENT_IP_HEADER": "Forwarded"}[k] }, io.Discard)
	if err != nil || c.ClientIPHeader != "Forwarded" {
		t.Errorf("PHOTOFEED_CLIENT_IP_HEADER not applied: %q %v", c.ClientIPHeader, err)
	}
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--max-upload", "lots"}, nil, "max-upload"},
		{[]string{"--max-upload", "-5MB"}, nil, "max-upload"},
		{[]string{"--session-ttl", "1s"}, nil, "--session-ttl"},
		{[]string{"--secret", "short"}, nil, "--secret"},
		{[]string{"--logical-shards", "9000"}, nil, "--logical-shards"},
		{[]string{"--log-format", "xml"}, nil, "--log-format"},
		{nil, map[string]string{"PHOTOFEED_MAX_PIXELS": "many"}, "PHOTOFEED_MAX_PIXELS"},
		{[]string{"--decode-memory", "lots"}, nil, "decode-memory"},
		{[]string{"--decode-memory", "1MiB"}, nil, "--decode-memory"},
		{nil, map[string]string{"PHOTOFEED_DECODE_MEMORY": "-1"}, "PHOTOFEED_DECODE_MEMORY"},
		{[]string{"--roles", "gateway"}, nil, "--roles"},
		{[]string{"--roles", ""}, nil, "--roles"},
		{[]string{"--cache-ttl", "2h"}, nil, "--cache-ttl"},
		{[]string{"--blobs", "file:///tmp"}, nil, "--blobs"},
		{[]string{"--media-redirect", "1h"}, nil, "--media-redirect"},
		{[]string{"--blobs", "s3://b", "--media-redirect", "1000h"}, nil, "--media-redirect"},
		{nil, map[string]string{"PHOTOFEED_ROLES": "api,db"}, "--roles"},
		{[]string{"--hash-memory", "1MiB"}, nil, "--hash-memory"},
		{nil, map[string]string{"PHOTOFEED_HASH_MEMORY": "lots"}, "PHOTOFEED_HASH_MEMORY"},
		{[]string{"--trusted-proxies", "10.0.0.0/33"}, nil, "--trusted-proxies"},
		{[]string{"--client-ip-header", "x-real-ip"}, nil, "--client-ip-header"},
		{nil, map[string]string{"PHOTOFEED_CLIENT_IP_HEADER": "forwarded,x-forwarded-for"}, "--client-ip-header"},
		{[]string{"--metrics-addr", "9464"}, nil, "--metrics-addr"},
		{[]string{"--otlp-endpoint", "127.0.0.1:4318"}, nil, "--otlp-endpoint"},
		{nil, map[string]string{"PHOTOFEED_OTLP_ENDPOINT": "grpc://127.0.0.1:4317"}, "--otlp-endpoint"},
		{[]string{"--trace-sample", "2"}, nil, "--trace-sample"},
		{[]string{"extra"}, nil, "unexpected argument"},
		{[]string{"--no-such-flag"}, nil, "no-such-flag"},
		{[]string{"--roles", "gateway,api", "--upstreams", "http://a:1", "--secret", secret32}, nil, "--roles gateway runs alone"},
		{[]string{"--roles", "gateway", "--secret", secret32}, nil, "--upstreams"},
		{[]string{"--roles", "gateway", "--upstreams", "http://a:1"}, nil, "--secret"},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "a:1"}, nil, "--upstreams"},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "http://a:1", "--upstreams-file", "f"}, nil, "--upstreams-file"},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "http://a:1", "--lb-policy", "feed=fastest"}, nil, `unknown policy "fastest"`},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "http://a:1", "--lb-policy", "posts=hash"}, nil, `unknown route group "posts"`},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "http://a:1", "--upstream-max-inflight", "0"}, nil, "--upstream-max-inflight must be"},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "http://a:1", "--upstream-max-streams", "-1"}, nil, "--upstream-max-streams must be"},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "http://a:1", "--upstream-health-interval", "1ms"}, nil, "--upstream-health-interval must be"},
		{[]string{"--roles", "gateway", "--secret", secret32, "--upstreams", "http://a:1"}, map[string]string{"PHOTOFEED_RETRY_BUDGET": "1.5"}, "--retry-budget must be"},
		{[]string{"--upstreams", "http://a:1"}, nil, "--roles gateway"},
		{nil, map[string]string{"PHOTOFEED_ROLES": "gateway", "PHOTOFEED_SECRET": secret32, "PHOTOFEED_UPSTREAMS": "ftp://a"}, "--upstreams"},
	}
	for _, tt := range tests {
		_, err := parseServeConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("args %v env %v: err %v, want a one-line error naming %q", tt.args, tt.env, err, tt.want)
		}
	}
}

const secret32 = "0123456789abcdef0123456789abcdef"

func TestGatewayConfig(t *testing.T) {
	env := map[string]string{"PHOTOFEED_UPSTREAMS": "http://10.0.0.5:8080, http://10.0.0.6:8080/"}
	c, err := parseServeConfig([]string{"--roles", "gateway", "--secret", secret32, "--lb-policy", "round-robin,feed=hash"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ups, err := initialUpstreams(c)
	if err != nil || strings.Join(ups, " ") != "http://10.0.0.5:8080 http://10.0.0.6:8080" {
		t.Fatalf("upstreams from PHOTOFEED_UPSTREAMS: %v %v", ups, err)
	}
	tests := []struct{ flag, want string }{
		{"", "default=p2c feed=hash media=round-robin writes=least-outstanding"},
		{"round-robin", "default=round-robin feed=round-robin media=round-robin writes=round-robin"},
		{"default=p2c,feed=hash", "default=p2c feed=hash media=round-robin writes=least-outstanding"},
		{"hash, writes = p2c", "default=hash feed=hash media=hash writes=p2c"},
	}
	for _, tt := range tests {
		got, err := parseLBPolicy(tt.flag)
		if err != nil {
			t.Fatalf("--lb-policy %q: %v", tt.flag, err)
		}
		var s []string
		for _, g := range []string{"default", "feed", "media", "writes"} {
			s = append(s, g+"="+got[g])
		}
		if strings.Join(s, " ") != tt.want {
			t.Errorf("--lb-policy %q: %s, want %s", tt.flag, strings.Join(s, " "), tt.want)
		}
	}
}
