package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/destination/singlestore/warehouse"
	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/s2segment/s2segment/internal/replay"
)

func init() { register(newWarehouseCmd) }

// countingWarehouse is the executor of a warehouse replay: the counting
// executor for the writes, the client for reading the schema.
type countingWarehouse struct {
	*replay.Counting
	q singlestore.Querier
}

func (c countingWarehouse) QueryRows(ctx context.Context, sql string, args ...any) ([]map[string]json.RawMessage, error) {
	return c.q.QueryRows(ctx, sql, args...)
}

// newWarehouseReplayWriter is the writer of "replay --action warehouse".
func newWarehouseReplayWriter(f *replayFlags, tgt *replayTarget, counting *replay.Counting, batchSize int) (*singlestore.WarehouseWriter, error) {
	if tgt.client == nil {
		return nil, errors.New("--action warehouse needs a Data API to read the schema from")
	}
	return singlestore.NewWarehouseWriter(countingWarehouse{Counting: counting, q: tgt.client}, singlestore.WarehouseConfig{
		Database:        tgt.database,
		MaxColumns:      f.maxColumns,
		BatchSize:       batchSize,
		MaxRequestBytes: f.maxRequestBytes,
		Concurrency:     1, // replay.Run runs --concurrency writes at once
	})
}

// printWarehouseConflicts writes the values that went to _unmapped, by
// table, column and reason, most first.
func printWarehouseConflicts(w io.Writer, conflicts map[warehouse.Conflict]int64) {
	if len(conflicts) == 0 {
		fmt.Fprintln(w, "_unmapped: no values (every value fit a column)")
		return
	}
	list := make([]planConflict, 0, len(conflicts))
	var total int64
	for c, n := range conflicts {
		list = append(list, planConflict{Conflict: c, Count: n})
		total += n
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Count != list[j].Count {
			return list[i].Count > list[j].Count
		}
		a, b := list[i].Conflict, list[j].Conflict
		return a.Table+"."+a.Column+" "+a.Reason < b.Table+"."+b.Column+" "+b.Reason
	})
	fmt.Fprintf(w, "_unmapped: %d values kept in the _unmapped JSON column, not in a column of their own:\n", total)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, c := range list {
		if i == 10 {
			fmt.Fprintf(tw, "  … and %d more\n", len(list)-i)
			break
		}
		fmt.Fprintf(tw, "  %s.%s\t%s\t%d\n", c.Table, c.Column, c.Reason, c.Count)
	}
	_ = tw.Flush()
}

// tableCount is one table and its row count.
type tableCount struct {
	Table string `json:"table"`
	Rows  int64  `json:"rows"`
}

// warehouseTables counts the rows of every table of database.
func warehouseTables(ctx context.Context, c *dataapi.Client, database string) ([]tableCount, error) {
	s, err := singlestore.ReadSchema(ctx, c, database, "", 0)
	if err != nil {
		return nil, err
	}
	var out []tableCount
	for _, name := range s.Names() {
		rows, err := c.QueryRows(ctx, "SELECT COUNT(*) AS n FROM "+singlestore.QuoteIdentifier(database)+"."+singlestore.QuoteIdentifier(name))
		if err != nil {
			return nil, err
		}
		if len(rows) != 1 {
			return nil, fmt.Errorf("counting the rows of %s: %d result rows", name, len(rows))
		}
		n, err := strconv.ParseInt(rawText(rows[0]["n"]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("counting the rows of %s: %w", name, err)
		}
		out = append(out, tableCount{Table: name, Rows: n})
	}
	return out, nil
}

// showWarehouseLanded prints the tables of the database with their row
// counts, read back through the Data API.
func showWarehouseLanded(ctx context.Context, w io.Writer, c *dataapi.Client, database string) error {
	tables, err := warehouseTables(ctx, c, database)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Landed in %s (read back through the Data API): %d tables\n", database, len(tables))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range tables {
		fmt.Fprintf(tw, "  %s\t%d rows\n", t.Table, t.Rows)
	}
	return tw.Flush()
}

func newWarehouseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "warehouse",
		Short: "Segment's warehouse schema: see what events would create",
		Long: `The warehouse action writes Segment's warehouse schema (tracks, identifies,
users, pages, screens, groups, accounts, aliases and one table per track event)
instead of one JSON row per event: "s2segment replay --action warehouse" and
serve's per-source "action": "warehouse" use it. See docs/warehouse.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newWarehousePlanCmd())
	return cmd
}

// planFlags are the command line of "s2segment warehouse plan".
type planFlags struct {
	target     targetFlags
	json       bool
	maxColumns int
	chunk      int
}

func newWarehousePlanCmd() *cobra.Command {
	f := &planFlags{}
	cmd := &cobra.Command{
		Use:   "plan [flags] [PATH...]",
		Short: "Print the tables, columns and conflicts events would create; write nothing",
		Long: `plan reads events (the inputs replay reads; with no PATH the bundled fixtures)
and prints the tables and columns, with their types, that the warehouse action
would create or add for them, and the values that would go to _unmapped (type
conflicts, names that snake-case to nothing, standard columns, the column cap).
Nothing is written. Against --host (the settings flags or S2_* variables) the
plan starts from the database's tables, read from information_schema; without
it, from an empty schema. Events are planned in chunks of --chunk events, as
the writer sees them: a column's type comes from the first chunk that needs it.

Exit status: 0, 1 when an input could not be read or an event is invalid, 2 for
usage errors or a server that cannot be reached.`,
		Example: `  s2segment warehouse plan events/
  s2segment warehouse plan --json - < events.ndjson
  S2_PASSWORD=… s2segment warehouse plan --host svc.example.singlestore.com --user admin --database analytics events/`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runPlan(cmd, f, args) },
	}
	fs := cmd.Flags()
	f.target.register(fs)
	fs.BoolVar(&f.json, "json", false, "print the plan as one JSON object")
	fs.IntVar(&f.maxColumns, "max-columns", warehouse.DefaultMaxColumns, "the most columns a table may have")
	fs.IntVar(&f.chunk, "chunk", 2*singlestore.MaxBatchSize, "events planned together, as one Write of the writer")
	return cmd
}

// planTable is one table of a plan.
type planTable struct {
	Table   string       `json:"table"`
	Create  bool         `json:"create"`
	Rows    int64        `json:"rows"`
	Columns []planColumn `json:"columns"`
}

type planColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type planConflict struct {
	warehouse.Conflict
	Count int64 `json:"count"`
}

type planInvalid struct {
	Source string `json:"source,omitempty"`
	Line   int    `json:"line,omitempty"`
	Error  string `json:"error"`
}

// plan is what "warehouse plan" prints.
type plan struct {
	Against   string         `json:"against"`
	Events    int64          `json:"events"`
	Tables    []planTable    `json:"tables"`
	Conflicts []planConflict `json:"conflicts"`
	Invalid   []planInvalid  `json:"invalid"`
}

func runPlan(cmd *cobra.Command, f *planFlags, paths []string) error {
	ctx := cmd.Context()
	if err := f.target.resolve(nil); err != nil {
		return usageError(err)
	}
	if f.maxColumns < 1 || f.maxColumns > warehouse.MaxColumnsLimit {
		return usageError(fmt.Errorf("--max-columns: want 1 to %d, got %d", warehouse.MaxColumnsLimit, f.maxColumns))
	}
	if f.chunk < 1 {
		return usageError(fmt.Errorf("--chunk: want at least 1, got %d", f.chunk))
	}
	schema := warehouse.NewSchema(f.maxColumns)
	p := plan{Against: "an empty schema", Tables: []planTable{}, Conflicts: []planConflict{}, Invalid: []planInvalid{}}
	if f.target.Host != "" {
		if f.target.Database == "" {
			return usageError(errors.New("--database (or S2_DATABASE) is required with --host"))
		}
		t := f.target
		c, err := dataapi.New(dataapi.Config{Host: t.Host, Port: t.Port, Scheme: t.Scheme, User: t.User, Password: t.Password,
			InsecureSkipVerify: t.Insecure, Database: t.Database})
		if err != nil {
			return usageError(err)
		}
		if schema, err = singlestore.ReadSchema(ctx, c, t.Database, "", f.maxColumns); err != nil {
			return usageError(err)
		}
		p.Against = "the tables of " + t.Database
	}
	srcCfg := eventsource.Config{}
	if len(paths) == 0 {
		srcCfg.FS = fixtures.FS()
		paths = []string{fixtures.DefaultDir}
	}
	if eventsource.ReadsStdin(paths) {
		announceTerminalInput(cmd.InOrStdin(), cmd.ErrOrStderr(), "warehouse plan")
	}
	src, err := eventsource.Open(ctx, srcCfg, paths, cmd.InOrStdin())
	if err != nil {
		return failedError(err)
	}
	defer src.Close()

	pl := newPlanner(schema)
	var chunk []warehouse.Row
	for ev, err := range src.All() {
		if err != nil {
			p.Invalid = append(p.Invalid, planInvalid{Error: err.Error()})
			continue
		}
		p.Events++
		rows, err := warehouse.Rows(ev.Data, time.Now())
		if err != nil {
			p.Invalid = append(p.Invalid, planInvalid{Source: ev.Source, Line: ev.Line, Error: err.Error()})
			continue
		}
		chunk = append(chunk, rows...)
		if len(chunk) >= f.chunk {
			pl.add(chunk)
			chunk = chunk[:0]
		}
	}
	pl.add(chunk)
	p.Tables, p.Conflicts = pl.result()
	out := cmd.OutOrStdout()
	if f.json {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(p); err != nil {
			return failedError(err)
		}
	} else if err := p.writeText(out); err != nil {
		return failedError(err)
	}
	if len(p.Invalid) > 0 {
		return failedError(nil)
	}
	return nil
}

// planner runs chunks of rows against a schema the way a writer would.
type planner struct {
	schema    *warehouse.Schema
	tables    map[string]*planTable
	order     []string
	conflicts map[warehouse.Conflict]int64
}

func newPlanner(s *warehouse.Schema) *planner {
	return &planner{schema: s, tables: map[string]*planTable{}, conflicts: map[warehouse.Conflict]int64{}}
}

func (p *planner) add(rows []warehouse.Row) {
	if len(rows) == 0 {
		return
	}
	for _, c := range p.schema.Plan(rows) {
		t := p.table(c.Table)
		t.Create = t.Create || c.Create
		for _, col := range c.Columns {
			t.Columns = append(t.Columns, planColumn{Name: col.Name, Type: col.Type.SQL()})
		}
		p.schema.Apply(c)
	}
	for i := range rows {
		r := &rows[i]
		t := p.schema.Tables[r.Table]
		p.table(r.Table).Rows++
		enc, err := warehouse.NewEncoder(t, warehouse.Columns(t, []*warehouse.Row{r}))
		if err != nil {
			continue
		}
		if _, err := enc.Append(nil, r); err != nil {
			p.conflicts[warehouse.Conflict{Table: r.Table, Column: "(row)", Reason: err.Error()}]++
			continue
		}
		enc.Conflicts(r.Table, func(c warehouse.Conflict) { p.conflicts[c]++ })
	}
}

func (p *planner) table(name string) *planTable {
	t := p.tables[name]
	if t == nil {
		t = &planTable{Table: name, Columns: []planColumn{}}
		p.tables[name] = t
		p.order = append(p.order, name)
	}
	return t
}

func (p *planner) result() ([]planTable, []planConflict) {
	tables := []planTable{}
	names := append([]string(nil), p.order...)
	sort.Strings(names)
	for _, n := range names {
		tables = append(tables, *p.tables[n])
	}
	conflicts := []planConflict{}
	for c, n := range p.conflicts {
		conflicts = append(conflicts, planConflict{Conflict: c, Count: n})
	}
	sort.Slice(conflicts, func(i, j int) bool {
		a, b := conflicts[i], conflicts[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Reason < b.Reason
	})
	return tables, conflicts
}

func (p *plan) writeText(w io.Writer) error {
	fmt.Fprintf(w, "Warehouse plan for %d events, against %s (nothing written):\n", p.Events, p.Against)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range p.Tables {
		verb := "add to"
		if t.Create {
			verb = "create"
		}
		if len(t.Columns) == 0 {
			verb = "write to"
		}
		fmt.Fprintf(tw, "\n%s %s\t(%d rows)\n", verb, t.Table, t.Rows)
		for _, c := range t.Columns {
			fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Type)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(p.Conflicts) == 0 {
		fmt.Fprintln(w, "\nNo values go to _unmapped.")
	} else {
		fmt.Fprintln(w, "\nValues that go to _unmapped:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range p.Conflicts {
			fmt.Fprintf(tw, "  %s.%s\t%s\t%d\n", c.Table, c.Column, c.Reason, c.Count)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, inv := range p.Invalid {
		if inv.Source != "" {
			fmt.Fprintf(w, "invalid: %s line %d: %s\n", inv.Source, inv.Line, inv.Error)
		} else {
			fmt.Fprintf(w, "invalid: %s\n", inv.Error)
		}
	}
	return nil
}
