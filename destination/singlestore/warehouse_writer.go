package singlestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore/warehouse"
	"golang.org/x/sync/errgroup"
)

// Querier reads rows: what a WarehouseWriter needs beyond an Executor, to
// read the tables' columns from information_schema.
type Querier interface {
	// QueryRows runs a query and returns its rows, column by column.
	QueryRows(ctx context.Context, sql string, args ...any) ([]map[string]json.RawMessage, error)
}

// WarehouseExecutor is an Executor that can also read rows. NewExecutor's
// executors are WarehouseExecutors.
type WarehouseExecutor interface {
	Executor
	Querier
}

func (e clientExecutor) QueryRows(ctx context.Context, sql string, args ...any) ([]map[string]json.RawMessage, error) {
	return e.c.QueryRows(ctx, sql, args...)
}

// WarehouseConfig configures a WarehouseWriter. Database is required.
type WarehouseConfig struct {
	// Database holds the tables.
	Database string
	// MaxColumns caps the columns of a table; 0 means
	// warehouse.DefaultMaxColumns.
	MaxColumns int
	// BatchSize caps the rows of one request; 0 means MaxBatchSize.
	BatchSize int
	// MaxRequestBytes caps a request body; 0 means batch.DefaultMaxBytes.
	MaxRequestBytes int
	// Concurrency is the number of requests one Write sends at a time;
	// 0 means 1.
	Concurrency int
	// Now is the clock of uuid_ts; nil means time.Now.
	Now func() time.Time
}

// WarehouseWriter writes raw Segment events as the rows of Segment's
// warehouse schema (package warehouse), creating tables and adding columns
// as the events need them. It is safe for concurrent use, and several
// writers (replicas) may write to one database at once.
type WarehouseWriter struct {
	exec     WarehouseExecutor
	cfg      WarehouseConfig
	action   *destination.Action // WarehouseAction, performing into exec
	pipeline *destination.Pipeline

	ddl sync.Mutex // one schema change at a time per writer

	mu        sync.Mutex // guards schema, loaded, conflicts
	schema    *warehouse.Schema
	loaded    bool
	conflicts map[warehouse.Conflict]int64
}

// NewWarehouseWriter checks cfg and returns a writer. The schema is read
// on the first Write.
func NewWarehouseWriter(exec WarehouseExecutor, cfg WarehouseConfig) (*WarehouseWriter, error) {
	if exec == nil {
		return nil, errors.New("creating warehouse writer: no executor")
	}
	if err := ValidateDatabaseName(cfg.Database); err != nil {
		return nil, fmt.Errorf("creating warehouse writer: %w", err)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = MaxBatchSize
	}
	if cfg.BatchSize < 1 || cfg.BatchSize > batch.DefaultMaxRows {
		return nil, fmt.Errorf("creating warehouse writer: batch size %d: want 1 to %d", cfg.BatchSize, batch.DefaultMaxRows)
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if _, err := batch.New(batch.Config{Prefix: "x", Columns: 1, MaxBytes: cfg.MaxRequestBytes}); err != nil {
		return nil, fmt.Errorf("creating warehouse writer: %w", err)
	}
	w := &WarehouseWriter{exec: exec, cfg: cfg, schema: warehouse.NewSchema(cfg.MaxColumns), conflicts: map[warehouse.Conflict]int64{}}
	w.action = WarehouseAction()
	w.action.PerformBatch = w.performBatch
	p, err := w.action.Compile(destination.Config{})
	if err != nil {
		return nil, fmt.Errorf("creating warehouse writer: %w", err)
	}
	w.pipeline = p
	return w, nil
}

// Conflicts returns how many values went to _unmapped, per table, column
// and reason, since the writer was made.
func (w *WarehouseWriter) Conflicts() map[warehouse.Conflict]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.conflicts)
}

// ReadSchema reads the columns of every table of database db from
// information_schema (table "" for all, else one table).
func ReadSchema(ctx context.Context, q Querier, db, table string, maxColumns int) (*warehouse.Schema, error) {
	sql := "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?"
	args := []any{db}
	if table != "" {
		sql += " AND TABLE_NAME = ?"
		args = append(args, table)
	}
	rows, err := q.QueryRows(ctx, sql+" ORDER BY TABLE_NAME, ORDINAL_POSITION", args...)
	if err != nil {
		return nil, fmt.Errorf("reading the columns of %s: %w", QuoteIdentifier(db), err)
	}
	s := warehouse.NewSchema(maxColumns)
	for _, r := range rows {
		var tn, cn, dt, ct string
		for k, v := range r {
			var str string
			_ = json.Unmarshal(v, &str)
			switch strings.ToUpper(k) {
			case "TABLE_NAME":
				tn = str
			case "COLUMN_NAME":
				cn = str
			case "DATA_TYPE":
				dt = str
			case "COLUMN_TYPE":
				ct = str
			}
		}
		if tn == "" || cn == "" {
			continue
		}
		typ, limit := warehouse.ParseColumnType(dt, ct)
		if cn == warehouse.ColumnID && typ == warehouse.TypeText {
			typ = warehouse.TypeID
		}
		if cn == warehouse.ColumnUnmapped && typ == warehouse.TypeLongText {
			typ = warehouse.TypeJSON // MariaDB reports JSON as longtext
		}
		t := s.Tables[tn]
		if t == nil {
			t = warehouse.NewTable(tn, nil)
			s.Tables[tn] = t
		}
		t.Add(warehouse.Column{Name: cn, Type: typ, Limit: limit})
	}
	return s, nil
}

// rowRef is one row of a Write and the event it came from.
type rowRef struct {
	event int
	row   *warehouse.Row
}

// Write writes events (raw JSON objects, checked at the edge like
// Writer.Write's) and returns one result per event, in order. An event is
// 200 only once every one of its rows is written (or, redelivered, already
// there); its Body lists its tables. An event the action's subscription
// does not select is filtered (400, as Send Data's are); one the engine
// cannot read is 400 PAYLOAD_VALIDATION_FAILED naming the field; one whose
// rows were refused gets the Data API's status and message as Writer.Write
// reports them. One event's rows never fail another's: requests are
// bisected on row errors.
//
// Write is the Pipeline.ExecuteBatch of the writer's action (Action): the
// kit checks and selects each event, and the action's PerformBatch writes
// the rows of the raw events (Payload.Event). The events must not be
// modified until Write returns.
func (w *WarehouseWriter) Write(ctx context.Context, events [][]byte) *destination.MultiStatus {
	return w.pipeline.ExecuteBatch(ctx, destination.Settings{}, events)
}

// Action returns a copy of the writer's Warehouse action, its PerformBatch
// writing the warehouse schema of the writer's database. Compiled with any
// Config (a subscription), it delivers as Write does.
func (w *WarehouseWriter) Action() *destination.Action {
	a := *w.action
	return &a
}

// performBatch is the action's PerformBatch: it turns the raw event of
// each payload into its rows, prepares the tables they need, packs each
// table's rows into requests (Concurrency in flight at a time) and returns
// the result of each payload, in order.
func (w *WarehouseWriter) performBatch(ctx context.Context, _ destination.Settings, payloads []*destination.Payload) []destination.Result {
	results := make([]destination.Result, len(payloads))
	now := w.cfg.Now()
	var (
		refs    []rowRef
		byTable = map[string][]int{} // table → indexes into refs
		order   []string
		tables  = make([][]string, len(payloads))
	)
	for i, p := range payloads {
		rows, err := warehouse.Rows(p.Event(), now)
		if err != nil {
			results[i] = destination.Result{Status: 400, ErrorType: destination.TypePayloadValidationFailed,
				ErrorReporter: destination.ReporterIntegrations, ErrorMessage: "The event cannot be written: " + err.Error(), Err: err,
				Sent: nothingSent}
			continue
		}
		for j := range rows {
			if _, ok := byTable[rows[j].Table]; !ok {
				order = append(order, rows[j].Table)
			}
			byTable[rows[j].Table] = append(byTable[rows[j].Table], len(refs))
			refs = append(refs, rowRef{event: i, row: &rows[j]})
			tables[i] = append(tables[i], rows[j].Table)
		}
	}
	rowErr := make([]error, len(refs))
	if len(refs) > 0 {
		w.writeRows(ctx, refs, order, byTable, rowErr)
	}
	failed := make([]bool, len(payloads))
	for k, ref := range refs {
		if err := rowErr[k]; err != nil && !failed[ref.event] {
			failed[ref.event] = true
			results[ref.event] = warehouseResult(ctx, err)
		}
	}
	for i := range payloads {
		// An event read without error none of whose rows failed is
		// written; any other result left unset fails closed in the kit.
		if results[i].Unset() && !failed[i] {
			results[i] = destination.Result{Status: 200}
			if len(tables[i]) > 0 {
				results[i].Body, _ = json.Marshal(map[string][]string{"tables": tables[i]})
			}
		}
	}
	return results
}

// writeRows prepares the tables of refs and writes their rows, recording
// each row's error in rowErr.
func (w *WarehouseWriter) writeRows(ctx context.Context, refs []rowRef, order []string, byTable map[string][]int, rowErr []error) {
	snap, ddlErr := w.prepare(ctx, refs, order, byTable)
	var (
		requests errgroup.Group // Go waits while Concurrency requests are in flight
		cmu      sync.Mutex
		cnt      = map[warehouse.Conflict]int64{}
	)
	requests.SetLimit(w.cfg.Concurrency)
	for _, name := range order {
		idx := byTable[name]
		if err := ddlErr[name]; err != nil {
			for _, k := range idx {
				rowErr[k] = err
			}
			continue
		}
		w.writeTable(ctx, snap[name], refs, idx, rowErr, &requests, func(c warehouse.Conflict) {
			cmu.Lock()
			cnt[c]++
			cmu.Unlock()
		})
	}
	_ = requests.Wait() // requests report into rowErr, never an error
	w.mu.Lock()
	for k, v := range cnt {
		w.conflicts[k] += v
	}
	w.mu.Unlock()
}

// warehouseResult is the result of an event one of whose rows failed.
func warehouseResult(ctx context.Context, err error) destination.Result {
	var re *batch.RowError
	if errors.As(err, &re) || errors.Is(err, warehouse.ErrRowUnwritable) {
		r := rowResult(err)
		if errors.Is(err, warehouse.ErrRowUnwritable) {
			r.ErrorMessage = "The event's row could not be written: " + err.Error()
		}
		return r
	}
	return sendResult(ctx, err, nil)
}

// prepare reads the schema when it is not read yet, creates the missing
// tables and adds the missing columns, and returns a snapshot of every
// table of the batch, or the error of each table it could not prepare.
func (w *WarehouseWriter) prepare(ctx context.Context, refs []rowRef, order []string, byTable map[string][]int) (map[string]*warehouse.Table, map[string]error) {
	w.ddl.Lock()
	defer w.ddl.Unlock()
	errs := map[string]error{}
	if !w.loaded {
		s, err := ReadSchema(ctx, w.exec, w.cfg.Database, "", w.cfg.MaxColumns)
		if err != nil {
			for _, n := range order {
				errs[n] = err
			}
			return nil, errs
		}
		w.mu.Lock()
		w.schema, w.loaded = s, true
		w.mu.Unlock()
	}
	snap := map[string]*warehouse.Table{}
	for _, name := range order {
		rows := make([]warehouse.Row, len(byTable[name]))
		for j, k := range byTable[name] {
			rows[j] = *refs[k].row
		}
		if err := w.evolve(ctx, name, rows); err != nil {
			errs[name] = err
			continue
		}
		w.mu.Lock()
		t := w.schema.Tables[name]
		snap[name] = warehouse.NewTable(name, append([]warehouse.Column(nil), t.Columns...))
		w.mu.Unlock()
	}
	return snap, errs
}

// maxSchemaAttempts bounds the create/alter attempts for one table in one
// Write, when other writers keep changing it meanwhile.
const maxSchemaAttempts = 4

// evolve makes the table hold the columns rows need: it creates it or adds
// the missing columns in one ALTER TABLE. When the statement fails (another
// writer added a column first: a duplicate column), the table's columns are
// read again and the plan made again against them.
func (w *WarehouseWriter) evolve(ctx context.Context, name string, rows []warehouse.Row) error {
	var lastErr error
	for attempt := 0; attempt < maxSchemaAttempts; attempt++ {
		w.mu.Lock()
		changes := w.schema.Plan(rows)
		w.mu.Unlock()
		if len(changes) == 0 {
			return nil
		}
		c := changes[0]
		var sql string
		if c.Create {
			sql = warehouse.CreateTableSQL(w.cfg.Database, c)
		} else {
			sql = warehouse.AddColumnsSQL(w.cfg.Database, name, c.Columns)
		}
		_, err := w.exec.Exec(ctx, sql)
		if err == nil && !c.Create {
			w.mu.Lock()
			w.schema.Apply(c)
			w.mu.Unlock()
			continue
		}
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return err
			}
		}
		// Created (perhaps by another writer first, with other columns), or
		// refused: read what the table has now.
		s, rerr := ReadSchema(ctx, w.exec, w.cfg.Database, name, w.cfg.MaxColumns)
		if rerr != nil {
			return errors.Join(err, rerr)
		}
		w.mu.Lock()
		if t := s.Tables[name]; t != nil {
			w.schema.Tables[name] = t
		} else {
			delete(w.schema.Tables, name)
		}
		w.mu.Unlock()
	}
	if lastErr == nil {
		lastErr = errors.New("the table kept changing")
	}
	return fmt.Errorf("changing the columns of %s.%s: %w", QuoteIdentifier(w.cfg.Database), QuoteIdentifier(name), lastErr)
}

// writeTable encodes and packs the rows of one table and sends the
// requests, recording each row's error.
func (w *WarehouseWriter) writeTable(ctx context.Context, t *warehouse.Table, refs []rowRef, idx []int, rowErr []error,
	requests *errgroup.Group, conflict func(warehouse.Conflict)) {
	rows := make([]*warehouse.Row, len(idx))
	for j, k := range idx {
		rows[j] = refs[k].row
	}
	cols := warehouse.Columns(t, rows)
	enc, err := warehouse.NewEncoder(t, cols)
	fail := func(err error) {
		for _, k := range idx {
			rowErr[k] = err
		}
	}
	if err != nil {
		fail(err)
		return
	}
	prefix, suffix := warehouse.InsertSQL(w.cfg.Database, t.Name, cols)
	packer, err := batch.New(batch.Config{Prefix: prefix, Suffix: suffix, Columns: len(cols), Database: w.cfg.Database,
		MaxRows: w.cfg.BatchSize, MaxBytes: w.cfg.MaxRequestBytes})
	if err != nil {
		fail(err)
		return
	}
	send := func(req *batch.Request) {
		requests.Go(func() error {
			res := w.exec.ExecBatch(ctx, req)
			for j, k := range req.Refs() {
				rowErr[k] = rowError(res, j, req.Len())
			}
			return nil
		})
	}
	var buf []byte
	for j, k := range idx {
		buf, err = enc.Append(buf[:0], rows[j])
		if err != nil {
			rowErr[k] = err
			continue
		}
		enc.Conflicts(t.Name, conflict)
		full, err := packer.Add(buf, k)
		if err != nil {
			rowErr[k] = err
			continue
		}
		if full != nil {
			send(full)
		}
	}
	if last := packer.Flush(); last != nil {
		send(last)
	}
}

// WarehouseActionKey is the key of the Warehouse action.
const WarehouseActionKey = "warehouse"

// WarehouseAction returns the Warehouse action: Segment's warehouse schema
// (tracks, identifies, users, pages, screens, groups, accounts, aliases and
// one table per track event) written as events arrive.
func WarehouseAction() *destination.Action {
	return &destination.Action{
		Key:   WarehouseActionKey,
		Title: "Warehouse Schema",
		Description: "Write Segment's warehouse schema: typed tables per call type and per track event, with properties " +
			"and traits as columns, and users and accounts holding the latest traits. Tables and columns are created as events need them.",
		DefaultSubscription: DefaultSubscription,
		Fields: destination.Fields{
			{Key: FieldMaxColumns, Label: "Max Columns", Description: "The most columns a table may have; values past it go to the _unmapped JSON column.",
				Type: destination.TypeNumber, Default: destination.LiteralDefault(warehouse.DefaultMaxColumns),
				Minimum: destination.Float(float64(len(warehouse.StandardColumns(warehouse.TableTracks)) + 1)), Maximum: destination.Float(warehouse.MaxColumnsLimit)},
		},
	}
}

// FieldMaxColumns is the Warehouse action's column cap field.
const FieldMaxColumns = "max_columns"

// BatchSize returns the most rows one request carries.
func (w *WarehouseWriter) BatchSize() int { return w.cfg.BatchSize }
