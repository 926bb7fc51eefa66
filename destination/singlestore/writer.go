package singlestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/internal/checked"
	"github.com/tidwall/gjson"
	"golang.org/x/sync/errgroup"
)

// Executor is what a Writer needs from a Data API client: run a statement
// (for the DDL) and write a packed batch, row by row. NewExecutor adapts a
// *dataapi.Client; tests and other transports can provide their own.
type Executor interface {
	// Exec runs one statement.
	Exec(ctx context.Context, sql string, args ...any) (dataapi.ExecResult, error)
	// ExecBatch writes a packed request and reports a result per row, in
	// row order, splitting the request when the server finds it too large.
	// req is valid until ExecBatch returns: when every row was written the
	// Writer then releases it (batch.Request.Release) and its body is
	// reused, so an Executor that keeps a body must copy it.
	ExecBatch(ctx context.Context, req *batch.Request) dataapi.BatchResult
}

// NewExecutor returns the Executor of a Data API client.
func NewExecutor(c *dataapi.Client) Executor { return clientExecutor{c} }

type clientExecutor struct{ c *dataapi.Client }

func (e clientExecutor) Exec(ctx context.Context, sql string, args ...any) (dataapi.ExecResult, error) {
	return e.c.Exec(ctx, sql, args...)
}

func (e clientExecutor) ExecBatch(ctx context.Context, req *batch.Request) dataapi.BatchResult {
	return dataapi.ExecBatch(ctx, e.c, req)
}

// WriterConfig configures a Writer. Database is required; the zero value
// of every other field means its default.
type WriterConfig struct {
	// Options are the action's mapping and subscription, the table's
	// schema and how JSON columns are sent.
	Options
	// Database is the database the table is in.
	Database string
	// Table is the table written; "" means DefaultTable.
	Table string
	// BatchSize caps the rows of one request. 0 means the mapping's
	// max_batch_size when it is a literal number (the default mapping has
	// DefaultBatchSize), or 1 when the mapping's enable_batching is false.
	BatchSize int
	// MaxRequestBytes caps a request body; 0 means batch.DefaultMaxBytes.
	MaxRequestBytes int
	// Concurrency is the number of requests one Write sends at a time;
	// 0 means 1.
	Concurrency int
}

// Writer writes batches of raw Segment events to a SingleStore table with
// the Send Data action, and returns one result per event. It is safe for
// concurrent use; each Write packs its own requests.
//
// It delivers the way any destination built with package destination does:
// its action (Action) is Send Data with a PerformBatch that packs the valid
// payloads into INSERT requests and reports a result per payload, and Write
// is that action's Pipeline.ExecuteBatch.
type Writer struct {
	exec        Executor
	enc         *Encoder
	action      *destination.Action
	packing     batch.Config
	table       string
	database    string
	concurrency int
	batching    bool      // false when the mapping's enable_batching is literally false
	packers     sync.Pool // of *batch.Packer, empty between Write calls
}

// NewWriter checks cfg and compiles the action. A mapping or subscription
// that does not compile, a bad table or database name, or a batch size out
// of range is an error.
func NewWriter(exec Executor, cfg WriterConfig) (*Writer, error) {
	if exec == nil {
		return nil, errors.New("creating writer: no executor")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultTable
	}
	if err := ValidateDatabaseName(cfg.Database); err != nil {
		return nil, fmt.Errorf("creating writer: %w", err)
	}
	w := &Writer{exec: exec, table: cfg.Table, database: cfg.Database, concurrency: max(cfg.Concurrency, 1)}
	w.action = SendAction()
	w.action.Perform, w.action.PerformBatch = w.perform, w.performBatch
	enc, err := newEncoder(w.action, cfg.Options)
	if err != nil {
		return nil, fmt.Errorf("creating writer: %w", err)
	}
	w.enc = enc
	size := cfg.BatchSize
	if size == 0 {
		size = mappingBatchSize(enc.pipeline.Mapping())
	}
	w.batching = !batchingOff(enc.pipeline.Mapping())
	if size < 1 || size > MaxBatchSize {
		return nil, fmt.Errorf("creating writer: batch size %d: want 1 to %d", size, MaxBatchSize)
	}
	prefix, suffix, err := InsertSQL(cfg.Table, cfg.Schema)
	if err != nil {
		return nil, fmt.Errorf("creating writer: %w", err)
	}
	packing := batch.Config{
		Prefix: prefix, Suffix: suffix, Columns: len(Columns), Database: cfg.Database,
		MaxRows: size, MaxBytes: cfg.MaxRequestBytes,
	}
	if _, err := batch.New(packing); err != nil {
		return nil, fmt.Errorf("creating writer: %w", err)
	}
	w.packing = packing
	return w, nil
}

// Action returns a copy of the writer's Send Data action, its PerformBatch
// writing to the writer's table. Compiled with any Config (mapping,
// subscription), it delivers as Write does; Write is the action compiled
// with the writer's Options.
func (w *Writer) Action() *destination.Action {
	a := *w.action
	return &a
}

// mappingBatchSize reads the batch size from the merged mapping: a literal
// max_batch_size, 1 when enable_batching is literally false, and
// DefaultBatchSize otherwise.
func mappingBatchSize(m []byte) int {
	if batchingOff(m) {
		return 1
	}
	if v := gjson.GetBytes(m, FieldMaxBatchSize); v.Type == gjson.Number && v.Num == float64(int(v.Num)) {
		return int(v.Num)
	}
	return DefaultBatchSize
}

// batchingOff reports whether the merged mapping m turns batching off: its
// enable_batching is literally false (Segment reads the setting, not a
// value mapped from each event).
func batchingOff(m []byte) bool {
	return gjson.GetBytes(m, FieldEnableBatching).Type == gjson.False
}

// Encoder returns the writer's encoder.
func (w *Writer) Encoder() *Encoder { return w.enc }

// BatchSize returns the most rows one request carries.
func (w *Writer) BatchSize() int { return w.packing.MaxRows }

// CreateTable creates the table if it does not exist, in the schema of the
// writer's Options (Segment's testAuthentication does this). The table is
// created in WriterConfig.Database, where Write inserts, whatever database
// the Executor's client uses by default: the statement names it
// (CreateTableInSQL).
func (w *Writer) CreateTable(ctx context.Context) error {
	ddl, err := CreateTableInSQL(w.database, w.table, w.enc.opts.Schema)
	if err != nil {
		return err
	}
	if _, err := w.exec.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("creating table %s.%s: %w", QuoteIdentifier(w.database), QuoteIdentifier(w.table), err)
	}
	return nil
}

// ProbeSQL is the statement Probe runs: it reads no row, yet the server
// must accept the credentials, find the database and the table and allow
// reading it.
func ProbeSQL(database, table string) string {
	return "SELECT 1 FROM " + QuoteIdentifier(database) + "." + QuoteIdentifier(table) + " LIMIT 0"
}

// Probe checks that the table can be reached with the writer's credentials:
// one authenticated query (ProbeSQL) that reads no row. Its error is the
// Data API's (errors.Is with dataapi.ErrUnauthorized, ErrMissingTable …).
func (w *Writer) Probe(ctx context.Context) error {
	q := ProbeSQL(w.database, w.table)
	var err error
	if qr, ok := w.exec.(Querier); ok {
		_, err = qr.QueryRows(ctx, q)
	} else {
		_, err = w.exec.Exec(ctx, q)
	}
	if err != nil {
		return fmt.Errorf("probing table %s.%s: %w", QuoteIdentifier(w.database), QuoteIdentifier(w.table), err)
	}
	return nil
}

// Write runs events (raw JSON objects, each checked once by the action:
// malformed, invalid UTF-8 or deeper than destination.MaxDepth is a 400
// for that event; Write never recurses on an event, whatever its depth)
// through the Send Data action and writes the valid ones, packed
// into requests that hold at most the batch size and never exceed the
// request cap. It returns one result per event, in order, and never fails
// an event because of another:
//
//   - 200 with the payload sent, for a row written (or, in the dedupe
//     schema, already there); Body is {"rowsAffected":N} of its request;
//   - 400 PAYLOAD_VALIDATION_FAILED with Segment's message, for an event the
//     subscription does not select or whose payload is invalid, including
//     values the table cannot hold (a timestamp that is not a date);
//   - 413 PAYLOAD_TOO_LARGE, for an event whose row cannot fit in any
//     request, or that the server refuses alone as too large;
//   - 400 PAYLOAD_VALIDATION_FAILED with the database's reason, for a row
//     the database refused alone for one of its own values;
//   - a retryable failure for everything else the database did not write
//     (see sendResult): 503 RETRYABLE_ERROR when the destination itself
//     fails (credentials, privileges, a missing table, an answer that is
//     not the Data API's; Err matches destination.ErrUnavailable), the
//     answer's status for a 408, 429 or 5xx, and 408 SELF_TIMEOUT when ctx
//     ends first;
//   - a retryable 500 (an unset result) for an event the writer did not
//     account for: results fail closed.
//
// Write is the Pipeline.ExecuteBatch of the writer's action: the kit checks,
// selects, maps and validates each event, and the action's PerformBatch
// writes the valid payloads. When the mapping's enable_batching is
// literally false, Write delivers as Segment does for such an action: each
// event alone, with Pipeline.Execute (Single delivery, whose validation
// also drops "" from top-level string fields) and the action's Perform,
// Concurrency events at a time. The events must not be modified until
// Write returns; results keep slices of their payloads (Sent).
func (w *Writer) Write(ctx context.Context, events [][]byte) *destination.MultiStatus {
	if w.batching {
		return w.enc.pipeline.ExecuteBatch(ctx, destination.Settings{}, events)
	}
	ms := destination.NewMultiStatus(len(events))
	var g errgroup.Group
	g.SetLimit(w.concurrency)
	for i, ev := range events {
		g.Go(func() error {
			ms.Results[i] = w.enc.pipeline.Execute(ctx, destination.Settings{}, ev)
			return nil
		})
	}
	_ = g.Wait() // each event reports into its result, never an error
	return ms
}

// perform is the action's Perform: one payload written in a request of its
// own, as the reference's perform sends send([payload]).
func (w *Writer) perform(ctx context.Context, s destination.Settings, p *destination.Payload) destination.Result {
	return w.performBatch(ctx, s, []*destination.Payload{p})[0]
}

// performBatch is the action's PerformBatch: it encodes the row of each
// payload, packs the rows into requests that hold at most the batch size
// and never exceed the request cap, sends them (Concurrency at a time) and
// returns the result of each payload, in order. A payload whose row cannot
// be encoded or packed fails alone; one nobody accounted for stays unset,
// which ExecuteBatch reports as a retryable 500.
func (w *Writer) performBatch(ctx context.Context, _ destination.Settings, payloads []*destination.Payload) []destination.Result {
	results := make([]destination.Result, len(payloads))
	packer, err := w.packer()
	if err != nil { // checked by NewWriter
		for i := range results {
			results[i] = destination.ResultOf(err)
		}
		return results
	}
	defer w.packers.Put(packer) // empty again once the last request is flushed
	var (
		row      []byte
		sent     = make([][]byte, len(payloads))
		requests errgroup.Group // Go waits while Concurrency requests are in flight
	)
	requests.SetLimit(w.concurrency)
	send := func(req *batch.Request) {
		requests.Go(func() error {
			w.send(ctx, req, sent, results)
			return nil
		})
	}
	for j, p := range payloads {
		var (
			full *batch.Request
			err  error
		)
		if row, full, err = w.enc.Pack(packer, row, p, j); err != nil {
			var re *batch.RowError
			if errors.As(err, &re) {
				results[j] = rowResult(err)
			} else {
				results[j] = destination.ResultOf(err)
			}
			results[j].Sent = nothingSent
			continue
		}
		sent[j] = p.JSON
		if full != nil {
			send(full)
		}
	}
	if last := packer.Flush(); last != nil {
		send(last)
	}
	_ = requests.Wait() // send reports into results, never an error
	return results
}

// nothingSent is the Sent of a payload refused before any request: empty,
// and not nil, so that ExecuteBatch does not fill in the payload.
var nothingSent = json.RawMessage{}

// payloadSlack is the room a payload may take beyond its event's size (the
// literal max_batch_size and enable_batching of the default mapping).
const payloadSlack = 64

// packer returns an empty Packer. Packers are reused across Write calls
// because a Packer sizes each new request from the previous one, which
// spares regrowing every request body from scratch.
func (w *Writer) packer() (*batch.Packer, error) {
	if p, ok := w.packers.Get().(*batch.Packer); ok {
		return p, nil
	}
	return batch.New(w.packing)
}

// Pack encodes the row of p (see AppendRow) into scratch and adds it to
// packer with ref, returning scratch for reuse and the request the row
// completed, if any. A row made from a checked payload (destination.Payload.Checked)
// is not scanned again by the packer: this encoder wrote it from values
// that were checked already. Any other row goes through batch.Packer.Add.
// The error is AppendRow's, or the packer's *batch.RowError.
func (e *Encoder) Pack(packer *batch.Packer, scratch []byte, p *destination.Payload, ref int) ([]byte, *batch.Request, error) {
	row, err := e.AppendRow(scratch[:0], p)
	if err != nil {
		return row, nil, err
	}
	var full *batch.Request
	if p.Checked() {
		full, err = packer.AddTrusted(checked.TrustRow(row), ref)
	} else {
		full, err = packer.Add(row, ref)
	}
	return row, full, err
}

// send writes one request and records the result of each of its rows. A
// request whose rows were all written goes back to the packers' pool:
// its answer is read, so no one reads its body any more.
func (w *Writer) send(ctx context.Context, req *batch.Request, sent [][]byte, results []destination.Result) {
	res := w.exec.ExecBatch(ctx, req)
	defer releaseWritten(req, res)
	refs := req.Refs()
	body := affectedBody(res.RowsAffected)
	for j, ref := range refs {
		w.record(ctx, res, body, j, len(refs), ref, sent, results)
	}
}

// record sets results[ref], the result of row j of a request of n rows
// whose outcome is res (body is the result body of its written rows).
func (w *Writer) record(ctx context.Context, res dataapi.BatchResult, body []byte, j, n, ref int, sent [][]byte, results []destination.Result) {
	err := rowError(res, j, n)
	if err == nil {
		results[ref] = destination.Result{Status: 200, Sent: sent[ref], Body: body}
		return
	}
	results[ref] = sendResult(ctx, err, sent[ref])
}

// rowError is the outcome of row j of a request of n rows whose result is
// res: nil when it was written. A client that reported fewer results than
// rows leaves the rest unwritten, as far as anyone can tell.
func rowError(res dataapi.BatchResult, j, n int) error {
	if j < len(res.Errs) {
		return res.Errs[j]
	}
	return fmt.Errorf("writing row %d: the client reported %d results for %d rows", j, len(res.Errs), n)
}

// affectedBody is the Body of a written row's result.
func affectedBody(n int64) []byte {
	return []byte(`{"rowsAffected":` + strconv.FormatInt(n, 10) + `}`)
}

// releaseWritten releases req when every row of it was written: the
// server read the whole body. After a failure an HTTP transport may still
// be writing the body, so it is left to the collector.
func releaseWritten(req *batch.Request, res dataapi.BatchResult) {
	if len(res.Errs) == req.Len() && res.Err() == nil {
		req.Release()
	}
}

// rowResult is the result of a row the packer refused.
func rowResult(err error) destination.Result {
	var re *batch.RowError
	if errors.As(err, &re) && errors.Is(err, batch.ErrRowTooLarge) {
		return destination.Result{
			Status: 413, ErrorType: "PAYLOAD_TOO_LARGE", ErrorReporter: destination.ReporterIntegrations,
			ErrorMessage: fmt.Sprintf("The event is too large for one Data API request: its request would be %d bytes, over the %d-byte limit.", re.Size, re.Limit),
			Err:          err,
		}
	}
	return destination.Result{
		Status: 400, ErrorType: destination.TypePayloadValidationFailed, ErrorReporter: destination.ReporterIntegrations,
		ErrorMessage: "The event's row could not be encoded: " + err.Error(), Err: err,
	}
}

// sendResult maps the error of a row the Data API did not write. Only two
// failures are the event's own, and final: a row too large for any request
// (413), and a row the database refused alone for one of its values
// (dataapi.ValueFault: too long, out of range, not JSON…; 400 with the
// database's reason). Everything else leaves the event unwritten through no
// fault of its own and is retryable, so that its sender keeps it:
//
//   - a failure of the destination's set-up (dataapi.SetupFault: refused
//     credentials or privileges, a missing database or table, an answer that
//     is not the Data API's, an unverifiable certificate) is 503
//     RETRYABLE_ERROR, its Err matching destination.ErrUnavailable;
//   - a retryable answer (408, 429, 5xx) keeps its status, RETRYABLE_ERROR;
//   - ctx ending first is 408 SELF_TIMEOUT;
//   - any other refusal, or no answer at all, is 503 RETRYABLE_ERROR.
func sendResult(ctx context.Context, err error, payload []byte) destination.Result {
	r := destination.Result{Sent: payload, Err: err, ErrorReporter: destination.ReporterDestination}
	var api *dataapi.APIError
	isAPI := errors.As(err, &api)
	switch {
	case errors.Is(err, dataapi.ErrRequestTooLarge):
		r.Status, r.ErrorType = 413, "PAYLOAD_TOO_LARGE"
		r.ErrorMessage = "Failed to insert data: the Data API refused the event as too large."
	case dataapi.ValueFault(err):
		r.Status, r.ErrorType = 400, destination.TypePayloadValidationFailed
		r.ErrorMessage = "Failed to insert data: the database refused a value of the event: " + apiText(api)
	case dataapi.SetupFault(err):
		r.Status, r.ErrorType = 503, destination.TypeRetryableError
		r.Err = fmt.Errorf("%w: %w", destination.ErrUnavailable, err)
		msg := err.Error()
		if isAPI {
			msg = fmt.Sprintf("%d %s", api.StatusCode, apiText(api))
		}
		r.ErrorMessage = "Failed to insert data: the destination cannot take writes (" + msg + "); the event is kept for a retry"
	case isAPI && api.Retryable:
		r.Status, r.ErrorType = api.StatusCode, destination.TypeRetryableError
		r.ErrorMessage = "Failed to insert data: " + apiText(api)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), ctx.Err() != nil:
		r.Status, r.ErrorType = 408, destination.TypeSelfTimeout
		r.ErrorMessage = "Failed to insert data: " + err.Error()
	case isAPI:
		// A refusal that is neither the value's fault nor known to be the
		// set-up's (an engine's generic 1105 on a single row, say): the
		// event may be fine, so it is not dropped.
		r.Status, r.ErrorType = 503, destination.TypeRetryableError
		r.ErrorMessage = "Failed to insert data: " + apiText(api)
	default:
		// The request did not get an answer (connection refused, reset,
		// timeout) even after the client's retries: worth trying later.
		r.Status, r.ErrorType = 503, destination.TypeRetryableError
		r.ErrorMessage = "Failed to insert data: " + err.Error()
	}
	return r
}

// apiText is the database's message with its error number and SQLSTATE.
func apiText(api *dataapi.APIError) string {
	if api == nil {
		return ""
	}
	if api.Errno != 0 {
		return fmt.Sprintf("Error %d (%s): %s", api.Errno, api.SQLState, api.Message)
	}
	return api.Message
}
