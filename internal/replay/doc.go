// Package replay streams events from a Source through a Writer in bounded
// memory and accounts for every one of them: the run loop, the per-event
// report and the summary behind "s2segment replay".
//
// Run reads events one at a time, groups them into chunks (a few requests'
// worth: Config.ChunkEvents events or Config.ChunkBytes bytes, whichever
// comes first) and hands each chunk to one of Config.Workers goroutines,
// which calls Writer.Write on it. Results are taken back in input order, so
// the report lists events in the order they were read whatever the number of
// workers. At most about 2×Workers+1 chunks exist at any time, so memory does
// not grow with the input: only counters, the written rows' types and the
// most frequent failure reasons are kept.
//
// Every event read ends in exactly one Kind:
//
//   - Written: the Data API wrote the row (or, for a table with a unique
//     key, found it already there);
//   - Filtered: the subscription does not select the event (the Send Data
//     action's 400 "Payload is either invalid or does not match the
//     subscription", told apart with errors.Is on destination.ErrNoMatch);
//   - Rejected: the event was refused before anything was sent: validation
//     failed, or its row cannot fit in any request;
//   - Failed: the Data API refused the request or did not answer.
//
// and every value or file the Source could not read is a ReadError. A run is
// OK when nothing was rejected, failed or unreadable and it was not
// interrupted.
//
// DryRun is a singlestore.Executor that writes each request body as one
// line instead of sending it, and counts what it would have sent.
package replay
