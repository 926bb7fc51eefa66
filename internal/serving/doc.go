// Package serving joins the SingleStore destination to the hosted endpoint of
// "s2segment serve": it turns a singlestore.Writer into a server.Sink,
// implements server.Actions (the manifest, test authentication, and the
// sinks of /send), and checks a destination's settings the way Segment's
// testAuthentication does, with explanations a user can act on.
//
// # Sinks
//
// A Sink runs each group of events through a Writer and reports one
// server.Result per event, in order: 200 for a row written (or, in the
// dedupe schema, already there), 400 or 413 for an event that can never be
// written, and the Data API's status, marked retryable when sending the event
// again may succeed, for a request that failed. It never drops an event
// without a result. A Sink holds no events after Write returns.
//
// # Checks
//
// Check pings the Data API, reads the table's columns from
// information_schema, creates the table when it is missing, and compares its
// columns with the 11 the writer inserts. A failure is a *CheckError whose
// Kind says what went wrong (unknown host, connection refused, timeout, TLS
// scheme mismatch, untrusted certificate, wrong credentials, missing
// privilege, unknown database, a table with a different schema) and whose
// text says what to do: the GRANT or CREATE DATABASE statement to run, the
// flag to change. Failures are classified with errors.Is and errors.As on
// the typed errors of package dataapi and of the standard library, never by
// reading error texts.
//
// # Actions
//
// Actions serves the actions-cli routes: GET /manifest is the destination's
// manifest; POST /authenticate parses the settings and runs Check;
// POST /send gets a Sink per settings, mapping and subscription (the server
// keeps them), built on a Data API client per distinct connection settings.
// Every Data API is spoken to with the same Connection: scheme, TLS trust and
// client limits are the endpoint's, whatever the settings name.
//
// Nothing in this package logs or returns a password, a write key or an
// Authorization header.
package serving
