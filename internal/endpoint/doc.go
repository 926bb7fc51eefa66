// Package endpoint is the HTTP layer of "s2segment serve": it accepts Segment's
// delivery formats, hands the events to a Sink, and answers each request only
// once every one of its events has a result. The Sink (settings, mapping,
// subscription, the database) is the caller's; this package does no mapping
// and no SQL.
//
// # Routes
//
//	POST /v1/track /v1/identify /v1/page /v1/screen /v1/group /v1/alias   one event
//	POST /v1/batch /v1/import        {"batch":[…], "context":{…}, "integrations":{…}}
//	POST /webhook/{source}           one event or an array, signed (X-Signature)
//	POST /webhook                    the same, in single-source mode
//	GET  /manifest                   actions-cli routes, when Config.Actions is set
//	POST /authenticate               body = settings → {"ok":true} | {"ok":false,"error":…,"fields":{…}}
//	POST /send                       {"payload","settings","mapping","subscription"} → {"multistatus":[…]}
//	GET  /healthz /readyz /metrics
//
// HTTP Tracking API requests name their source by write key: the user name of
// Basic auth ("writeKey:") or "writeKey" in the body. The write key is removed
// from the events. As Segment's API does on receipt, a single-event route sets
// "type" from the route when the event has none, every event gets
// "messageId", "timestamp" and "receivedAt" (server time) when it has none
// (the messageId is "api-" and a digest of the event as sent, so that a resend
// after a lost answer is the same event; see newMessageID), and a batch's top-level context and integrations are merged into
// each event (the event's own keys win). Every batch event needs a "type".
// The merge is lazy: events are merged as they are handed to the Sink, a
// group (GroupConfig.MaxBytes, or the body's size when larger) at a time, so
// a request holds at most one group's merged copies; a batch that would
// expand past MaxExpandedBatchBytes is refused with 413 before anything is
// copied.
//
// # Webhook signatures
//
// Webhooks are verified before anything in them is parsed or written, over
// the raw body as received:
//
//	X-Signature: hex(HMAC-SHA1(secret, body))                       without a timestamp (Sign)
//	X-Signature: hex(HMAC-SHA1(secret, T + "." + body))             with X-Signature-Timestamp: T (SignTimestamp)
//
// T is the signing time in decimal Unix seconds. The hex may be in either
// case and is compared in constant time. The whole body is covered, so an
// element cannot be added to, removed from or changed in a signed array.
// With Source.WebhookTolerance set, X-Signature-Timestamp is required and
// must be within the tolerance of the server's clock, so a captured request
// cannot be replayed later. Source.WebhookFirstElementSignature also accepts
// an array signed over its first element only, byte for byte as sent, as
// some senders sign arrays; the other elements are then not authenticated,
// which is why it is off by default. Unsigned webhooks are never accepted.
//
// # Acknowledgement and status codes
//
// Work is done inside the request: the answer is sent after the events are
// written or have failed, so the sender's retry is the only queue and a crash
// loses nothing that was acknowledged. Each event ends with a Result; a result
// is final when the event was written (2xx) or failed in a way a retry would
// not change (invalid, too large, refused by the database for one of its own
// values), and retryable otherwise: a timed-out or failed request to the
// database, and any failure of the destination itself (refused credentials or
// privileges, a missing database or table, an answer that is not the Data
// API's), which is never the event's fault. A result nobody set is a
// retryable 500: results fail closed.
//
//   - 200: every event has a final result. Like Segment's API, the Tracking
//     API and webhooks answer {"success":true} even when some events were
//     rejected as invalid (each rejection is logged and counted in
//     s2segment_server_events_total{result="rejected"}); /send reports each
//     event in its multistatus node.
//   - A retryable status with Retry-After when any event failed in a way worth
//     retrying, so that nothing unwritten is ever acknowledged: 429 when the
//     database asked to slow down, else the database's 5xx when every sender
//     retries it, else 503. Webhooks never get a 429, since classic Segment
//     webhooks retry 5xx only. The sender retries the whole request, so
//     events written the first time are sent again: writing them idempotently
//     (a unique messageId) is the Sink's business.
//   - 400 for a body that is not JSON (with the byte offset), not the shape
//     the route expects, or nested more than 128 levels; 401 for a wrong or
//     missing write key, signature or bearer token; 404 for an unknown webhook
//     source; 413 for a body over its limit (MaxEventBytes for single events,
//     MaxBatchBytes for batches, MaxBodyBytes for webhooks and /send; gzip
//     bodies are limited after decoding); 415 for a Content-Encoding other
//     than gzip. An event that is not valid UTF-8 is refused with 400 and
//     the byte offset of the first invalid byte in the body ("invalid UTF-8
//     at byte offset N"). An element of a batch, array or payload that is not
//     an object, is over MaxEventBytes or is not valid UTF-8 fails alone (400
//     or 413 result) and its neighbours are still written. A batch, webhook
//     array or /send payload of more than MaxRequestEvents elements is a 413.
//   - 429 (Tracking API, /send) or 503 (webhooks) with Retry-After when the
//     bytes of the requests in flight would pass a budget: the server turns
//     work away rather than queue it. A request's bytes are counted as they
//     arrive (a request authenticated by its header reserves its
//     Content-Length at once), until its answer is sent and its events are
//     written. Until a request is authenticated (a webhook before its
//     signature is checked, a write key in the body before it is read) its
//     bytes come from MaxUnauthenticatedBytes; then they move to its source's
//     Source.MaxInFlightBytes (the Actions routes have
//     MaxActionsInFlightBytes). All of them are part of MaxInFlightBytes, so
//     strangers, and any one source, can fill only their own share.
//   - 503 with Retry-After for requests that arrive during Shutdown.
//
// # Group commit
//
// Events of concurrent requests for the same Sink are packed into shared
// Write calls: a group stays open for GroupConfig.Linger, is written at once
// when full (MaxEvents or MaxBytes), and keeps growing while all
// MaxConcurrentWrites slots of its Sink are busy. Each request waits for its
// own events' results, in order. A request whose sender goes away stops
// waiting; its events are still written with their group and the others are
// not affected. /send keeps one Sink per distinct settings, mapping and
// subscription (MaxActionSinks, least recently used out), so its events group
// too. Sinks are never closed by the server.
//
// # Operations
//
// GET /healthz answers 200 while the process runs; GET /readyz calls
// Config.Ready and answers 503 when it fails or once shutdown has begun,
// with the reason only for a request bearing Config.AdminToken, or on
// AdminHandler (the same three routes, for an operators' address): the
// reasons name internal addresses. GET /metrics serves the server's own Prometheus registry (events by route
// and result, request latency, group rows and bytes, Sink write latency,
// in-flight bytes, pending events, overload rejects, Go and process metrics).
// Serve bounds each connection's header block (MaxHeaderBytes, 431 past
// it), the time to read headers and body (ReadHeaderTimeout, ReadTimeout),
// and the connections open at once (MaxConnections).
//
// /send answers are bounded too: when the multistatus would pass
// MaxBodyBytes its nodes go without "sent" and "body", and then with their
// error messages clipped, so it stays under a few hundred bytes per event.
//
// Each request is logged as one structured record (route, status, duration,
// source name, event count, reason). Authorization headers, write keys,
// signatures, tokens and request bodies are never logged.
package endpoint
