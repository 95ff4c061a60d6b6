-- The W3C traceparent of the request whose change an event describes, so
-- that its consumers continue that request's trace (internal/tracing);
-- '' when the request carried none.
ALTER TABLE outbox ADD COLUMN traceparent TEXT NOT NULL DEFAULT '';
