// Package warehouse is the schema engine of the warehouse mode: it turns one
// raw Segment event into the rows of Segment's warehouse schema (tracks,
// identifies, users, pages, screens, groups, accounts, aliases, and one table
// per track event), with Segment's names, flattened properties and traits,
// and typed values; and it plans the tables and columns a batch of rows needs
// against a known schema (CREATE TABLE, ALTER TABLE … ADD COLUMN), fitting
// every value to its column's type or sending it to the row's _unmapped JSON
// column, counted as a conflict. Nothing is silently changed or dropped.
//
// The package knows Segment events and SQL types, not HTTP: the writer that
// sends its statements is singlestore.WarehouseWriter.
//
// Names go through github.com/segmentio/go-snakecase, the library Segment's
// own loader uses, with the decisions of docs/warehouse.md on top (a leading
// digit gets "_", empty names are not created, event tables named like a
// standard table get "_", names past 256 characters are cut and end in a
// hash of the full name). Events are read with gjson from their bytes.
package warehouse
