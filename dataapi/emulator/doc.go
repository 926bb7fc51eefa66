// Package emulator is a SingleStore Data API server for tests and local
// development, with a real SQL engine behind it.
//
// A *Server is an http.Handler that speaks the Data API's protocol
// (SPEC §1) and runs every statement on a MySQL-family engine through
// database/sql and go-sql-driver/mysql:
//
//   - the embedded engine (the default): go-mysql-server, in memory, private
//     to the Server, with a database "s2segment" created at start;
//   - or any MySQL-protocol server named by Config.DSN: MariaDB, MySQL, or
//     SingleStore's own SQL port.
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
// Values in answers follow the Data API's conversion (SPEC §1.3): integers
// and floats as numbers, JSON columns embedded as JSON, DECIMAL, text,
// date and time as strings, binary as base64 strings. MariaDB stores JSON
// as LONGTEXT and reports it as text, so on MariaDB JSON columns come back
// as strings. The embedded engine parses JSON column values into float64,
// so integers beyond 2^53 inside JSON columns come back rounded there;
// MariaDB and MySQL keep them.
//
// Errors are text bodies "Error <errno> (<sqlstate>): <message>" with the
// Data API's statuses (SPEC §1.4): 400 for SQL errors, a bad body and an
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
