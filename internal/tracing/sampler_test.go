package tracing

import (
	"context"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// A client's sampled flag decides nothing: the share does, on the trace
// id, the same for a client's parent as for none.
func TestSampledFlagOfARemoteParentIsNotObeyed(t *testing.T) {
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	for _, tc := range []struct {
		share   float64
		flagged bool
		want    sdktrace.SamplingDecision
	}{
		{0, true, sdktrace.Drop},
		{1, false, sdktrace.RecordAndSample},
		{1, true, sdktrace.RecordAndSample},
	} {
		flags := trace.TraceFlags(0)
		if tc.flagged {
			flags = trace.FlagsSampled
		}
		parent := trace.ContextWithRemoteSpanContext(context.Background(),
			trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, Remote: true}))
		got := sampler(tc.share).ShouldSample(sdktrace.SamplingParameters{ParentContext: parent, TraceID: tid, Name: "GET /v1/feed"})
		if got.Decision != tc.want {
			t.Errorf("share %v, client's flag %v: %v, want %v", tc.share, tc.flagged, got.Decision, tc.want)
		}
	}
}
