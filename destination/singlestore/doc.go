// Package singlestore is the SingleStore destination: the settings and the
// Send Data action of Segment's SingleStore (Actions) destination, the
// table's DDL, the row encoding, and the Writer that writes batches of
// events through the SingleStore Data API.
//
// Definition returns the destination's definition, field for field that of
// Segment's (labels, descriptions, defaults, choices, bounds, the
// conditionally required event, the default subscription); Manifest is its
// JSON.
//
// An Encoder runs events through the Send Data action (subscription,
// mapping, validation; see package destination) and encodes each valid
// payload as a row: the JSON text of the 11 column values messageId,
// timestamp, type, event, name, properties, userId, anonymousId, groupId,
// traits, context, joined by commas, as package batch packs them. JSON
// columns are the event's own JSON text (or JSON-encoded strings, with
// JSONString); timestamps are converted to UTC "YYYY-MM-DD HH:MM:SS.ffffff".
// It departs from Segment's action only where Segment writes bad data or
// fails a whole batch: timestamps are parsed and normalised (an unparsable
// one is a 400 for that event), big integers keep their digits, and
// "context": null is an absent context.
//
// A Writer packs the rows into requests capped by row count and by bytes,
// sends them with package dataapi (through the small Executor interface),
// and returns one destination.Result per event. Two table schemas are
// supported: SchemaDedupe (the default for tables s2segment creates: a
// messageId shard and unique key, and a no-op ON DUPLICATE KEY UPDATE, so a
// redelivered event is written once) and SchemaReference (Segment's keyless
// table and plain INSERTs). Every identifier is backtick-quoted with
// backticks doubled, table and database names are validated, and values
// only ever travel as arguments, so nothing in an event or a name can change
// the statement.
//
// The Warehouse action (WarehouseAction, in the manifest beside Send Data)
// writes Segment's warehouse schema instead: a WarehouseWriter turns each
// event into the rows of package warehouse (tracks, identifies, users, one
// table per track event, …), creates tables and adds columns as the events
// need them, and reports one result per event in the same form.
package singlestore
