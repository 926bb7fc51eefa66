// Package fidelity holds the test that every statement s2segment sends is
// one SingleStore accepts, as far as SingleStore's documentation tells: it
// runs the table creation of both schemas, both inserts (through the
// Writer), check's queries and the rule table of the Data API emulator
// (dataapi/emulator/testdata/singlestore-rules.json) through the emulator
// with its SingleStore rule layer on, over HTTP, on the embedded engine and
// on MariaDB when S2_TEST_MARIADB_DSN is set. The package has no code of
// its own.
package fidelity
