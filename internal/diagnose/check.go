package diagnose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// Target is what Check checks: where the Data API is, who connects, and the
// table expected there.
type Target struct {
	Scheme, Host, Port string
	User               string
	Database, Table    string
	Schema             singlestore.Schema
}

// Endpoint returns the Data API's base URL, e.g. "https://svc.example.com:443".
func (t Target) Endpoint() string {
	return t.Scheme + "://" + net.JoinHostPort(t.Host, t.Port)
}

// address returns host:port.
func (t Target) address() string { return net.JoinHostPort(t.Host, t.Port) }

// qualifiedTable returns `database`.`table`.
func (t Target) qualifiedTable() string {
	return singlestore.QuoteIdentifier(t.Database) + "." + singlestore.QuoteIdentifier(t.Table)
}

// Conn is what Check needs from a Data API client; *dataapi.Client has it.
// The client's context database must be the Target's database.
type Conn interface {
	Ping(ctx context.Context) error
	Exec(ctx context.Context, sql string, args ...any) (dataapi.ExecResult, error)
	QueryRows(ctx context.Context, sql string, args ...any) ([]map[string]json.RawMessage, error)
}

// CheckResult is what a successful Check found.
type CheckResult struct {
	Target Target
	// Created is true when Check created the table; false when it was
	// there already, with the columns expected.
	Created bool
	// Warnings are things that do not stop writes but deserve a look,
	// such as a dedupe table without a unique key on messageId.
	Warnings []string
}

// Kind says what a failed check ran into.
type Kind int

// The kinds of check failures.
const (
	// KindOther is a failure none of the other kinds describes.
	KindOther Kind = iota
	// KindSettings: the settings themselves are invalid (a required value
	// missing, a bad port, table or database name).
	KindSettings
	// KindDNS: the host name does not resolve.
	KindDNS
	// KindRefused: nothing listens on the port.
	KindRefused
	// KindTimeout: no answer in time (a firewall or IP allowlist dropping
	// packets, or a wrong port).
	KindTimeout
	// KindUnreachable: the connection failed otherwise (reset, closed).
	KindUnreachable
	// KindTLS: the scheme does not match the server (https spoken to a
	// plain-HTTP server, or the reverse).
	KindTLS
	// KindCertificate: the server's certificate is not trusted or not for
	// this host.
	KindCertificate
	// KindUnauthorized: the user or password is wrong (401).
	KindUnauthorized
	// KindForbidden: the user lacks a privilege (403, errno 1142, 1044).
	KindForbidden
	// KindUnknownDatabase: the database does not exist (errno 1049).
	KindUnknownDatabase
	// KindSchemaMismatch: the table exists with other columns than the
	// writer inserts.
	KindSchemaMismatch
)

var kindNames = [...]string{
	KindOther: "other", KindSettings: "settings", KindDNS: "dns", KindRefused: "refused",
	KindTimeout: "timeout", KindUnreachable: "unreachable", KindTLS: "tls",
	KindCertificate: "certificate", KindUnauthorized: "unauthorized", KindForbidden: "forbidden",
	KindUnknownDatabase: "unknown-database", KindSchemaMismatch: "schema-mismatch",
}

// String returns the kind's name, such as "dns" or "schema-mismatch".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Transient reports whether a failure of this kind may go away by itself
// (the server down or unreachable for now), as opposed to settings that
// have to change.
func (k Kind) Transient() bool {
	switch k {
	case KindRefused, KindTimeout, KindUnreachable:
		return true
	}
	return false
}

// CheckError is a failed check: what went wrong, in words, and what to do.
// It never holds the password.
type CheckError struct {
	Kind Kind
	// Summary says what went wrong, in one sentence.
	Summary string
	// Hint says what to do; it may span lines (a statement to run).
	Hint string
	// Diffs lists the differing columns of a KindSchemaMismatch.
	Diffs []ColumnDiff
	// Err is the error behind the failure, if any.
	Err error

	fields map[string]string
}

// Error returns the summary and the hint.
func (e *CheckError) Error() string {
	if e.Hint == "" {
		return e.Summary
	}
	return e.Summary + ". " + e.Hint
}

// Unwrap returns the error behind the failure.
func (e *CheckError) Unwrap() error { return e.Err }

// Fields names the settings the failure concerns (host, port, username,
// password, dbName, tableName), each with the summary, as actions-cli's
// "fields" does; server.FieldsError.
func (e *CheckError) Fields() map[string]string {
	if len(e.fields) == 0 {
		return nil
	}
	return maps.Clone(e.fields)
}

func (e *CheckError) concerns(msg string, settings ...string) *CheckError {
	e.fields = make(map[string]string, len(settings))
	for _, s := range settings {
		e.fields[s] = msg
	}
	return e
}

// columnsSQL reads the table's columns.
const columnsSQL = "SELECT COLUMN_NAME AS name, DATA_TYPE AS dataType, COLUMN_TYPE AS columnType, " +
	"IS_NULLABLE AS nullable, COLUMN_KEY AS columnKey, COLUMN_DEFAULT AS defaultValue, EXTRA AS extra, " +
	"CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation " +
	"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION"

// Check does what Segment's testAuthentication does, and says why when it
// fails: it pings the Data API, reads the table's columns, creates the table
// in t.Schema when it is missing, and compares its columns with the ones the
// writer inserts. A failure is a *CheckError.
func Check(ctx context.Context, c Conn, t Target) (*CheckResult, error) {
	res := &CheckResult{Target: t}
	if err := c.Ping(ctx); err != nil {
		ce := Explain(err, t)
		switch ce.Kind {
		case KindSettings, KindDNS, KindRefused, KindTimeout, KindUnreachable, KindTLS, KindCertificate:
			return nil, ce
		}
		// Another answer than "pong" (a proxy that guards or lacks /ping,
		// say): the authenticated statements below tell more.
		res.Warnings = append(res.Warnings, "GET /ping did not answer pong: "+err.Error())
	}
	cols, err := readColumns(ctx, c, t)
	if err != nil {
		return nil, Explain(err, t)
	}
	if len(cols) == 0 {
		ddl, err := singlestore.CreateTableSQL(t.Table, t.Schema)
		if err != nil {
			return nil, SettingsProblem(err)
		}
		if _, err := c.Exec(ctx, ddl); err != nil {
			return nil, Explain(fmt.Errorf("creating table %s: %w", t.qualifiedTable(), err), t)
		}
		res.Created = true
		if cols, err = readColumns(ctx, c, t); err != nil {
			return nil, Explain(err, t)
		}
		if len(cols) == 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("table %s was created but information_schema does not list its columns, so they were not compared", t.qualifiedTable()))
			return res, nil
		}
	}
	diffs, warnings := CompareColumns(cols, t.Schema)
	res.Warnings = append(res.Warnings, warnings...)
	res.Warnings = append(res.Warnings, TextWarnings(cols, readDatabaseCharset(ctx, c, t), t)...)
	if len(diffs) > 0 {
		return nil, mismatch(t, diffs, res.Created)
	}
	return res, nil
}

// readColumns reads the table's columns from information_schema.
func readColumns(ctx context.Context, c Conn, t Target) ([]Column, error) {
	rows, err := c.QueryRows(ctx, columnsSQL, t.Database, t.Table)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", t.qualifiedTable(), err)
	}
	cols := make([]Column, 0, len(rows))
	for _, r := range rows {
		col := Column{
			Name:       jsonText(r["name"]),
			DataType:   strings.ToLower(jsonText(r["dataType"])),
			ColumnType: strings.ToLower(jsonText(r["columnType"])),
			Nullable:   strings.EqualFold(jsonText(r["nullable"]), "YES"),
			Key:        strings.ToUpper(jsonText(r["columnKey"])),
			Extra:      jsonText(r["extra"]),
			Charset:    strings.ToLower(jsonText(r["charset"])),
			Collation:  strings.ToLower(jsonText(r["collation"])),
		}
		d := r["defaultValue"]
		col.HasDefault = len(d) > 0 && string(d) != "null"
		cols = append(cols, col)
	}
	return cols, nil
}

// schemaCharsetSQL reads a database's default character set.
const schemaCharsetSQL = "SELECT DEFAULT_CHARACTER_SET_NAME AS charset FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?"

// readDatabaseCharset returns the default character set of t's database
// in lower case, or "" when it cannot be read (the check then says nothing
// about it).
func readDatabaseCharset(ctx context.Context, c Conn, t Target) string {
	rows, err := c.QueryRows(ctx, schemaCharsetSQL, t.Database)
	if err != nil || len(rows) == 0 {
		return ""
	}
	return strings.ToLower(jsonText(rows[0]["charset"]))
}

// jsonText returns a JSON string's text, or the raw JSON of anything else
// ("" for null or nothing).
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// Explain turns the error of a Data API call made for t into a *CheckError
// that says what went wrong and what to do. It classifies with errors.Is and
// errors.As: dataapi's *APIError and sentinels, net and TLS errors, and
// context deadlines.
func Explain(err error, t Target) *CheckError {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce
	}
	var (
		api      *dataapi.APIError
		dnsErr   *net.DNSError
		hostname x509.HostnameError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
		netErr   net.Error
		opErr    *net.OpError
		cfgErr   *dataapi.ConfigError
	)
	addr := t.address()
	switch {
	case errors.As(err, &cfgErr):
		return SettingsProblem(err)

	case errors.As(err, &dnsErr):
		e := &CheckError{Kind: KindDNS, Err: err,
			Summary: fmt.Sprintf("unknown host %q: the name does not resolve (DNS: %s)", t.Host, dnsErr.Err),
			Hint: "Check the host (--host): it is the Data API's host name alone, without https://, a path or a port " +
				"(for Helios, the workspace's endpoint, such as svc-….svc.singlestore.com)"}
		if !dnsErr.IsNotFound {
			e.Summary = fmt.Sprintf("cannot resolve host %q (DNS: %s)", t.Host, dnsErr.Err)
			e.Hint = "Check the host (--host) and this machine's DNS resolver"
		}
		return e.concerns(e.Summary, singlestore.SettingHost)

	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &record):
		e := &CheckError{Kind: KindTLS, Err: err,
			Summary: fmt.Sprintf("%s speaks plain HTTP, not https", addr),
			Hint: "For a development server such as the dev image's Data API on port 9000, use --scheme http; " +
				"production endpoints (Helios, port 443) speak https. Check the port (--port) too"}
		return e.concerns(e.Summary, singlestore.SettingPort)

	case errors.As(err, &hostname):
		e := &CheckError{Kind: KindCertificate, Err: err,
			Summary: fmt.Sprintf("the TLS certificate of %s is not valid for the name %q", addr, t.Host),
			Hint:    "Use the host name the certificate was issued for (--host), or for development only --insecure"}
		return e.concerns(e.Summary, singlestore.SettingHost)

	case errors.As(err, &unknown), errors.As(err, &invalid), errors.As(err, &verify):
		e := &CheckError{Kind: KindCertificate, Err: err,
			Summary: fmt.Sprintf("the TLS certificate of %s is not trusted (%s)", addr, certReason(err)),
			Hint: "If the server uses a private or self-signed certificate, trust its certificate authority with " +
				"--ca-cert FILE (PEM); --insecure skips verification, for development only"}
		return e.concerns(e.Summary, singlestore.SettingHost)

	case errors.Is(err, syscall.ECONNREFUSED):
		e := &CheckError{Kind: KindRefused, Err: err,
			Summary: fmt.Sprintf("connection refused by %s: nothing listens on that port", addr),
			Hint: "Check the port (--port): 443 for Helios, 9000 for the dev image (with --scheme http); on a " +
				"self-managed cluster the Data API must be enabled (http_api = ON and http_proxy_port or " +
				"https_proxy_port set, then RESTART PROXY)"}
		return e.concerns(e.Summary, singlestore.SettingHost, singlestore.SettingPort)

	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		e := &CheckError{Kind: KindTimeout, Err: err,
			Summary: fmt.Sprintf("no answer from %s in time", addr),
			Hint: "A firewall or an IP allowlist may be dropping the connection (Helios workspaces accept only " +
				"the addresses listed in their firewall settings), or the port (--port) is not the Data API's"}
		return e.concerns(e.Summary, singlestore.SettingHost, singlestore.SettingPort)

	case errors.As(err, &api):
		return explainAPI(api, err, t)

	case errors.As(err, &opErr), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		e := &CheckError{Kind: KindUnreachable, Err: err,
			Summary: fmt.Sprintf("cannot reach %s: %v", addr, err),
			Hint:    "Check the host and port (--host, --port) and the network between this machine and the server"}
		return e.concerns(e.Summary, singlestore.SettingHost, singlestore.SettingPort)

	case errors.Is(err, dataapi.ErrUnexpectedResponse):
		return &CheckError{Kind: KindOther, Err: err,
			Summary: fmt.Sprintf("%s answered, but not as a SingleStore Data API does: %v", t.Endpoint(), err),
			Hint:    "Check the host and port (--host, --port): they should name the Data API, not the SQL port (3306) or another service"}
	}
	return &CheckError{Kind: KindOther, Err: err, Summary: err.Error()}
}

// certReason says why a certificate was refused, from its typed error.
func certReason(err error) string {
	var (
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return "signed by an unknown authority"
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			return "expired or not yet valid"
		case x509.NotAuthorizedToSign:
			return "signed by a certificate that may not sign others"
		}
		return "invalid"
	}
	return "verification failed"
}

// Errors numbers of MySQL and SingleStore that Check explains.
const (
	errnoDBAccessDenied    = 1044 // access denied to a database
	errnoAccessDenied      = 1045 // access denied for a user (bad password)
	errnoUnknownDatabase   = 1049
	errnoTableAccessDenied = 1142 // a command denied on a table
	errnoColumnDenied      = 1143
	errnoSpecificDenied    = 1227 // needs SUPER or another privilege
)

// explainAPI explains an answer of the Data API.
func explainAPI(api *dataapi.APIError, err error, t Target) *CheckError {
	sqlErr := api.Message
	if api.Errno != 0 {
		sqlErr = fmt.Sprintf("Error %d", api.Errno)
		if api.SQLState != "" {
			sqlErr += " (" + api.SQLState + ")"
		}
		sqlErr += ": " + api.Message
	}
	switch {
	case errors.Is(err, dataapi.ErrUnauthorized) || api.Errno == errnoAccessDenied:
		e := &CheckError{Kind: KindUnauthorized, Err: err,
			Summary: fmt.Sprintf("the Data API refused the credentials of user %q (%d %s)", t.User, api.StatusCode, http.StatusText(api.StatusCode)),
			Hint:    "Check the user and password (--user, and --password or S2_PASSWORD); on Helios they are a database user's, such as admin with the workspace's password"}
		return e.concerns(e.Summary, singlestore.SettingUsername, singlestore.SettingPassword)

	case api.Errno == errnoUnknownDatabase:
		e := &CheckError{Kind: KindUnknownDatabase, Err: err,
			Summary: fmt.Sprintf("database %q does not exist (%s)", t.Database, sqlErr),
			Hint: fmt.Sprintf("Create it, as a user allowed to:\n  CREATE DATABASE %s;\nor fix the database name (--database); names are case-sensitive",
				singlestore.QuoteIdentifier(t.Database))}
		return e.concerns(e.Summary, singlestore.SettingDBName)

	case errors.Is(err, dataapi.ErrForbidden), api.Errno == errnoDBAccessDenied, api.Errno == errnoTableAccessDenied,
		api.Errno == errnoColumnDenied, api.Errno == errnoSpecificDenied:
		e := &CheckError{Kind: KindForbidden, Err: err,
			Summary: fmt.Sprintf("user %q lacks a privilege on database %q (%s)", t.User, t.Database, sqlErr),
			Hint:    "Grant what s2segment needs, as an administrator:\n  " + GrantSQL(t.User, t.Database)}
		return e.concerns(e.Summary, singlestore.SettingUsername, singlestore.SettingDBName)

	case api.StatusCode == http.StatusNotFound:
		e := &CheckError{Kind: KindOther, Err: err,
			Summary: fmt.Sprintf("%s has no Data API at %s (404 Not Found)", t.Endpoint(), api.Path),
			Hint:    "Check the host and port (--host, --port): they should name the Data API (443 on Helios, 9000 on the dev image), not the SQL port (3306) or a web page"}
		return e.concerns(e.Summary, singlestore.SettingHost, singlestore.SettingPort)

	case api.StatusCode == http.StatusBadRequest && api.Errno == 0 && t.Scheme == "http":
		// A TLS endpoint answers a plain-HTTP request with a 400 of its own.
		e := &CheckError{Kind: KindTLS, Err: err,
			Summary: fmt.Sprintf("%s answered a plain-HTTP request with 400 Bad Request (%s)", t.address(), api.Message),
			Hint:    "If the server speaks https (Helios does, on port 443), use --scheme https, the default"}
		return e.concerns(e.Summary, singlestore.SettingPort)
	}
	e := &CheckError{Kind: KindOther, Err: err,
		Summary: fmt.Sprintf("the Data API at %s refused the request: %d %s: %s", t.Endpoint(), api.StatusCode, http.StatusText(api.StatusCode), sqlErr)}
	if api.Retryable {
		e.Hint = "The server may be busy or restarting; try again in a moment"
	}
	return e
}

// GrantSQL returns the GRANT statement that gives user what s2segment needs
// on database: create the table, insert rows, read them back.
func GrantSQL(user, database string) string {
	return fmt.Sprintf("GRANT CREATE, INSERT, SELECT ON %s.* TO %s@'%%';", singlestore.QuoteIdentifier(database), quoteString(user))
}

// quoteString quotes s as an SQL string literal.
func quoteString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// SettingsProblem explains settings that cannot be used, naming the
// settings at fault in its Fields.
func SettingsProblem(err error) *CheckError {
	e := &CheckError{Kind: KindSettings, Err: err, Summary: "the settings cannot be used: " + err.Error()}
	e.fields = SettingsFields(err)
	return e
}

// mismatch builds the error of a table whose columns differ.
func mismatch(t Target, diffs []ColumnDiff, created bool) *CheckError {
	var b strings.Builder
	verb := "exists"
	if created {
		verb = "was created"
	}
	fmt.Fprintf(&b, "table %s %s with columns that differ from the %s schema's:", t.qualifiedTable(), verb, t.Schema)
	for _, d := range diffs {
		b.WriteString("\n  - ")
		b.WriteString(d.String())
	}
	hint := "Write to another table (--table), or alter or recreate this one to match"
	if t.Schema == singlestore.SchemaDedupe {
		hint += "; for Segment's own keyless table, use --schema reference"
	}
	e := &CheckError{Kind: KindSchemaMismatch, Summary: b.String(), Hint: hint, Diffs: diffs}
	return e.concerns(fmt.Sprintf("table %s has a different schema", t.qualifiedTable()), singlestore.SettingTableName)
}
