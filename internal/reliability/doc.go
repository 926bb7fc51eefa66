// Package reliability holds s2segment's reliability suites; it has no code
// of its own, only tests, which drive the real packages end to end over
// loopback HTTP:
//
//   - Faults (faults_test.go): events written with singlestore.Writer (dedupe
//     schema) through a dataapi.Client to a dataapi/emulator served over real
//     HTTP, while the emulator and a fault-injecting front answer 5xx in
//     bursts, 429 with Retry-After, latency spikes past the client's timeout,
//     connection resets (before and after the statement ran), 413 for bodies
//     over a low limit, and restarts of the HTTP server mid-run. Events whose
//     result is retryable are driven again, as Segment's pipeline would. Each
//     event must end written exactly once (COUNT(*) per messageId = 1, read
//     back through the Data API) or reported failed with a reason; no event is
//     silently lost and the dedupe schema never holds a duplicate. The same
//     holds through the hosted endpoint (internal/endpoint with group commit):
//     an acknowledged event is always in the table, once.
//   - Bad input (badinput_test.go, depth_test.go): malformed JSON, nesting
//     10,000 and 1,000,000 deep, huge strings, invalid UTF-8, NaN and
//     Infinity, duplicate keys, wrong types in every field, SQL
//     metacharacters and backticks in every value and in table and database
//     names, through the real edges: internal/eventsource reading files, the
//     Writer and Encoder, and internal/endpoint's HTTP routes. Every bad event
//     gets a clear error of its own, nothing panics or crashes, and the rows
//     read back are exactly the good events'.
//
// A restart, in these suites, stops the emulator's HTTP server (its listener
// and every open connection are closed, requests in flight are cut off) and
// starts a new one on the same address after a pause; the emulator's engine,
// and so the table, lives on, as a SingleStore cluster's data outlives a
// restart of its Data API endpoint.
//
// See docs/reliability.md for the matrices and how to run the suites.
package reliability
