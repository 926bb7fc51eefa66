// Package emulator is a SingleStore Data API server for tests and local
// development, with a real SQL engine behind it.
//
// A *Server is an http.Handler that speaks the Data API's protocol (the
// /api/v2 endpoints of https://docs.singlestore.com/cloud/reference/data-api/)
// and runs every statement on a MySQL-family engine through
// database/sql and go-sql-driver/mysql:
//
//   - the embedded engine (the default): go-mysql-server, in memory, private
//     to the Server, with a database "s2segment" created at start;
//   - or any MySQL-protocol server named by Config.DSN: MariaDB, MySQL, or
//     SingleStore's own SQL port.
//
// # Serving
//
// Listen starts a Server and serves it over real HTTP on a free loopback
// port, for clients and programs that need a host and a port; Start
// serves a Server on a listener of one's choosing, optionally with TLS. The
// returned *Local knows its URL, host and port, and its Close stops
// serving gracefully (waiting a bounded time for requests in flight)
// before it closes the Server. For httptest, serve the Server itself: it
// is an http.Handler.
//
// # Protocol
//
//   - GET /ping, without auth, answers "pong".
//   - POST /api/v2/exec runs a statement and answers
//     {"lastInsertId":N,"rowsAffected":N}.
//   - POST /api/v2/query/rows answers {"results":[{"rows":[{col:val,…}]}]}.
//   - POST /api/v2/query/tuples answers
//     {"results":[{"columns":[{"name","dataType","nullable"}],"rows":[[val,…]]}]}.
//   - The same three under /api/v1/.
//
// The body is {"sql":"…","database":"…","args":[…]} with Content-Type
// application/json. "database" is the context database, matched
// case-sensitively. The statement's ? placeholders must match the args in
// number. Args are interpolated by the driver as the real service does;
// integers keep every digit, and JSON objects and arrays are passed as
// their JSON text. One statement per request: a trailing semicolon is
// fine, a second statement is an error.
//
// Values in answers follow the Data API's conversion (docs/emulator.md cites its pages): integers
// and floats as numbers, JSON columns embedded as JSON, DECIMAL, text,
// date and time as strings, binary as base64 strings. MariaDB stores JSON
// as LONGTEXT and reports it as text, so on MariaDB JSON columns come back
// as strings. On the embedded engine JSON values written by INSERT …
// VALUES come back exactly as sent (big integers, raw UTF-8), while values
// computed by JSON functions go through float64.
//
// Errors are text bodies "Error <errno> (<sqlstate>): <message>" with the
// Data API's statuses (docs/emulator.md cites its pages): 400 for SQL errors, a bad body and an
// unknown database; 403 for missing privileges; 500 for the server's own
// trouble (lost connection, deadlock, shutdown); 401 with
// WWW-Authenticate for bad credentials; 404 for an unknown path; 405 for a
// wrong method. A body over Config.MaxBodyBytes (1,048,576 by default) is
// answered with Config.TooLargeStatus (413 by default; the real status is
// undocumented) and "Error reading request body: http: request body too
// large".
//
// # SingleStore DDL
//
// Unless the engine is SingleStore itself, CREATE TABLE statements are
// adapted: CREATE ROWSTORE / REFERENCE TABLE becomes CREATE TABLE, and
// SHARD KEY (…), SORT KEY (…), KEY … USING CLUSTERED COLUMNSTORE and the
// AUTOSTATS_*=… and SQL_MODE='…' table options are removed. UNIQUE KEY …
// USING HASH is kept (both engines accept it). MariaDB and the embedded
// engine accept a UNIQUE KEY on a TEXT column; MySQL needs a VARCHAR (or a
// prefix length), so declare keyed columns such as messageId VARCHAR(255).
//
// # SingleStore rules
//
// Unless Config.PlainMySQL is set (or the engine is SingleStore itself),
// every statement is checked against SingleStore's documented rules
// before the engine runs it, and refused with the Data API's answer (400,
// "Error <errno> (<sqlstate>): …") when it breaks one. Statements are
// parsed with the vitess parser go-mysql-server uses (an INSERT … VALUES
// with its first row only). Per table and database the emulator remembers
// what the SingleStore-only clauses said (ROWSTORE or columnstore,
// REFERENCE, SHARD KEY, SORT KEY) and the unique and primary keys and JSON
// columns; it forgets a table on DROP TABLE and follows RENAME and ALTER
// TABLE … ADD/DROP COLUMN. The rules, each with its documentation page in
// rules.go and a refused and an accepted case in
// testdata/singlestore-rules.json:
//
//   - tables are columnstore unless created ROWSTORE; SORT KEY on a
//     ROWSTORE table is refused;
//   - every UNIQUE or PRIMARY key contains every shard-key column (the
//     shard key is SHARD KEY (…), or the primary key without one);
//   - a keyless table (SHARD KEY (), or neither shard nor primary key) has
//     no unique key; a REFERENCE table has a primary key;
//   - ON DUPLICATE KEY UPDATE assigns no unique-key column of a
//     columnstore table and no shard-key column;
//   - INSERT IGNORE … ON DUPLICATE KEY UPDATE is error 1706;
//   - an UPDATE assigns no shard-key column;
//   - one statement per request; at most 4,096 columns per table; table
//     and column names of at most 256 characters;
//   - the JSON accessors col::key, col::$key, col::%key and
//     JSON_EXTRACT_JSON/STRING/DOUBLE/BIGINT(col, key, …) are translated
//     to JSON_EXTRACT, JSON_UNQUOTE and CAST for the engine.
//
// Notes on the answers: SingleStore documents the text of error 1706 only
// for INSERT IGNORE … ON DUPLICATE KEY UPDATE ("Feature … is not supported
// by MemSQL"). For the other key, upsert, update and table-type rules it
// documents the rule but not the error; the emulator answers 1706 in the
// documented "Feature '…' is not supported" form, naming the rule and its
// page. For the system limits it answers MySQL's 1117 (too many columns)
// and 1059 (identifier too long), and for a second statement 1064; their
// SingleStore numbers are undocumented. The rules were taken from the
// documentation, not checked against a live cluster; statements about
// tables the emulator did not see created are judged only by the rules
// that need no table. docs/emulator.md says what is not checked.
//
// # The embedded engine's tables
//
// go-mysql-server's in-memory tables copy their rows several times per
// statement and check unique keys by scanning, so inserts slow down as a
// table grows. A CREATE TABLE that declares only columns and table-level
// UNIQUE keys (both of s2segment's schemas) makes a table of
// internal/gms's store instead: inserts cost the same at any size, unique
// keys live in hash indexes (duplicates, upserts, REPLACE and
// information_schema as before), each statement commits on its own (such
// tables are outside BEGIN … ROLLBACK). JSON values of INSERT … VALUES are
// written through s2_exact_json, which checks them as the engine does and
// keeps their text.
//
// # Fault injection
//
// Config.Faults adds latency, failed answers (503 with Retry-After by
// default) and connection resets to authenticated requests, drawn from a
// seeded source so a test sees the same sequence every run.
//
// # Sessions
//
// Requests share pooled engine connections per context database. A
// statement that changes its session (USE, SET, BEGIN, START, LOCK) has its
// connection discarded afterwards, so no later request inherits the change.
package emulator
