// Package adapter is the SingleStore adapter of the hosted endpoint of
// "s2segment serve", and its only one: it turns a singlestore.Writer into an
// endpoint.Sink, and implements endpoint.Actions (the manifest, test
// authentication through package diagnose, and the sinks of /send).
//
// # Sinks
//
// A Sink runs each group of events through a Writer and reports one
// endpoint.Result per event, in order: 200 for a row written (or, in the
// dedupe schema, already there), 400 or 413 for an event that can never be
// written, and the Data API's status, marked retryable when sending the event
// again may succeed, for a request that failed. It never drops an event
// without a result. A Sink holds no events after Write returns.
//
// # Actions
//
// Actions serves the actions-cli routes: GET /manifest is the destination's
// manifest; POST /authenticate parses the settings and runs diagnose.Check;
// POST /send gets a Sink per settings, mapping and subscription (the server
// keeps them), built on a Data API client per distinct connection settings.
// Every Data API is spoken to with the same Connection: scheme, TLS trust and
// client limits are the endpoint's, whatever the settings name.
//
// Nothing in this package logs or returns a password, a write key or an
// Authorization header.
package adapter
