// Package eventsource streams Segment events out of files, directories and
// standard input, in bounded memory, with the position of every event.
//
// # Inputs
//
// A path names a file, a directory, or "-" for standard input. Directories
// are read recursively in lexical order (the order of [os.ReadDir]); entries
// whose names start with "." are skipped, as are symbolic links to
// directories and anything that is not a regular file. A hidden file named
// explicitly is read.
//
// The format of a file is found from its content, never its name:
//
//   - gzip: the file starts with the gzip magic bytes (1f 8b). It is
//     decompressed and its content is read by the rules below. Offsets and
//     lines then count in the decompressed content.
//   - JSON array: the first byte that is not white space (after an optional
//     UTF-8 byte order mark) is '['. Each element is an event. Anything after
//     the closing ']' is read as a stream.
//   - stream: anything else is a sequence of top-level JSON values separated
//     by optional white space: NDJSON / JSON Lines, a single event, several
//     pretty-printed events one after the other, or any mix. Each value is
//     an event or a batch body; any other value, an array included, is an
//     ErrNotObject error.
//
// A top-level object with a "batch" member whose value is an array is a
// Tracking API batch body (POST /v1/batch, /v1/import). Each item of the array
// is an event, with the body's top-level "context" and "integrations" merged
// in as [ExpandBatch] describes. Other top-level members of the body
// (writeKey, sentAt, ...) are not copied into the events.
//
// # Events
//
// Every event is delivered as the raw bytes of one JSON object: well-formed
// JSON (RFC 8259) nested at most 10000 deep, valid UTF-8, at most
// [Config.MaxEventBytes] long. Its bytes
// are exactly those of the input, except for batch items that received the
// body's context or integrations. Nothing is decoded into maps and numbers
// keep every digit.
//
// # Errors
//
// A problem with one value or one file never stops the others. It comes out of
// [Reader.Next] as an [*Error] carrying the source, line, byte offset and
// element index, and wrapping one of [ErrMalformed], [ErrNotObject],
// [ErrTooLarge], [ErrInvalidUTF8], [ErrTruncated], or the error that opening
// or reading the file returned. After a syntax error the reader resumes on a
// later line whose first byte other than spaces and tabs is '{' or '[':
//
//   - in a stream, when the error is on the line where the broken value
//     started (a broken NDJSON line, or text after a value on its line such
//     as `{"a":1} garbage`), at the next such line, whatever its indentation;
//   - in a stream, when the broken value spans lines, at the first such line
//     after the one where it started whose '{' or '[' is at the column of the
//     first value that started on that line (so that the indented members of
//     a broken pretty-printed value are not read as events);
//   - in a top-level array, at the first such line whose '{' or '[' is at the
//     column where the broken element started.
//
// The error gives the line and byte offset where the broken value started,
// the byte and line of the fault and what was expected there, and says where
// reading resumes, or that the rest of the input was skipped.
//
// # Memory
//
// The reader holds at most one top-level value at a time: an event of up to
// MaxEventBytes, or a batch body of up to [Config.MaxBatchBytes]. Larger
// values are scanned to their end without being kept, and reported as
// [ErrTooLarge]. Elements of a top-level array are read one at a time, so an
// array file of any length streams.
package eventsource
