// Package diagnose checks a destination's settings the way Segment's
// testAuthentication does, and explains every failure with the fix a user
// can act on.
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
package diagnose
