package emulator

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-sql-driver/mysql"
)

// sqlError is an error answered in the Data API's text format
// "Error <errno> (<sqlstate>): <message>".
type sqlError struct {
	status   int
	errno    uint16
	sqlState string
	message  string
}

func (e *sqlError) Error() string {
	return fmt.Sprintf("Error %d (%s): %s", e.errno, e.sqlState, e.message)
}

// Errors the emulator itself raises, with MySQL's numbers for them.
func errEmptyQuery() *sqlError {
	return &sqlError{http.StatusBadRequest, 1065, "42000", "Query was empty"}
}

func errMultipleStatements() *sqlError {
	return &sqlError{http.StatusBadRequest, 1064, "42000", "You have an error in your SQL syntax: the Data API runs one statement per request"}
}

func errArgCount(placeholders, args int) *sqlError {
	return &sqlError{http.StatusBadRequest, 1210, "HY000", fmt.Sprintf("Incorrect arguments: the statement has %d placeholders but %d args were given", placeholders, args)}
}

// forbidden lists engine errors about missing privileges (403).
var forbidden = map[uint16]bool{
	1044: true, // access denied for user to database
	1142: true, // command denied to user for table
	1143: true, // column access denied
	1227: true, // access denied; you need the … privilege
	1370: true, // command denied for routine
}

// unavailable lists engine errors that are the server's trouble, not the
// request's (500): connections, shutdown, deadlock, lock wait, interrupts,
// and the emulator's own login being refused (1045).
var unavailable = map[uint16]bool{
	1040: true, // too many connections
	1045: true, // access denied for the emulator's DSN user
	1053: true, // server shutdown in progress
	1205: true, // lock wait timeout
	1213: true, // deadlock
	1317: true, // query execution was interrupted
	1927: true, // connection was killed
	3024: true, // maximum statement execution time exceeded
}

// sqlStates gives the standard SQLSTATE of common errors, for engines that
// answer them with the generic HY000 (go-mysql-server does).
var sqlStates = map[uint16]string{
	1049: "42000", 1050: "42S01", 1051: "42S02", 1054: "42S22", 1062: "23000",
	1064: "42000", 1146: "42S02", 1048: "23000", 1136: "21S01", 1406: "22001",
	1264: "22003", 1292: "22007",
}

// toSQLError turns an error from the engine, the driver or the emulator
// into the status and text the Data API answers with: 400 for errors in
// the request's SQL, 403 for missing privileges, 500 for everything that
// is the server's trouble. Driver and network errors become 500 with MySQL's
// generic errno 1105.
func toSQLError(err error) *sqlError {
	var se *sqlError
	if errors.As(err, &se) {
		return se
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		state := string(me.SQLState[:])
		if s, ok := sqlStates[me.Number]; ok && (state == "HY000" || state == "\x00\x00\x00\x00\x00") {
			state = s
		}
		if state == "\x00\x00\x00\x00\x00" {
			state = "HY000"
		}
		status := http.StatusBadRequest
		switch {
		case forbidden[me.Number]:
			status = http.StatusForbidden
		case unavailable[me.Number]:
			status = http.StatusInternalServerError
		}
		return &sqlError{status, me.Number, state, me.Message}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &sqlError{http.StatusInternalServerError, 1317, "70100", "Query execution was interrupted"}
	}
	return &sqlError{http.StatusInternalServerError, 1105, "HY000", err.Error()}
}
