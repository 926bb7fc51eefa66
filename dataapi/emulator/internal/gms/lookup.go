package gms

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Lookups on the unique keys of store tables.
//
// go-mysql-server's join planner turns every listed index whose columns a
// join condition binds into a lookup join, and fails the statement when
// the index refuses the lookup (plan.NewIndexedAccessForTableNode does not
// fall back to a scan). The lookups it builds (plan.LookupBuilder) hold,
// per key column, one value, NULL (a null-safe <=> with a NULL key),
// "not NULL" (the same, planned with a non-NULL key), or any value (a
// column the condition leaves free), so a key's index accepts exactly
// those: a point made of such columns, or several for an IN list. The
// filter planner asks CanSupport before it uses an index, so refusing
// real ranges (<, BETWEEN, LIKE 'p%') makes it scan and filter with the
// engine's own comparisons.
//
// A lookup whose columns are all values is answered from the hash index
// when the encoding is exact for every key column (integers, and strings
// of a collation that compares bytes); any other lookup, and any other
// key, is answered by a scan that compares with the column's type. Either
// way a row is returned only if every column of the key is in the range,
// compared as the engine compares, so the planner may drop the join
// condition the lookup replaced (PreciseMatch).

// columnCut is what a lookup asks of one key column.
type columnCut int

const (
	cutOther   columnCut = iota // a true range: not supported
	cutValue                    // equal to a value
	cutNull                     // IS NULL
	cutNotNull                  // IS NOT NULL
	cutAll                      // anything, NULL included
	cutEmpty                    // nothing (= NULL)
)

// cutOf classifies a column's range and returns the value of a cutValue.
func cutOf(ce sql.MySQLRangeColumnExpr) (columnCut, any) {
	switch lo := ce.LowerBound.(type) {
	case sql.Below:
		hi, ok := ce.UpperBound.(sql.Above)
		switch {
		case !ok:
			return cutOther, nil
		case lo.Key == nil && hi.Key == nil:
			return cutEmpty, nil // = NULL
		case lo.Key == nil || hi.Key == nil:
			return cutOther, nil
		}
		if c, err := ce.Typ.Compare(sql.NewEmptyContext(), lo.Key, hi.Key); err != nil || c != 0 {
			return cutOther, nil
		}
		return cutValue, lo.Key
	case sql.BelowNull:
		switch ce.UpperBound.(type) {
		case sql.AboveNull:
			return cutNull, nil
		case sql.AboveAll:
			return cutAll, nil
		}
	case sql.AboveNull:
		if _, ok := ce.UpperBound.(sql.AboveAll); ok {
			return cutNotNull, nil
		}
	case sql.AboveAll:
		if _, ok := ce.UpperBound.(sql.AboveAll); ok {
			return cutEmpty, nil
		}
	}
	return cutOther, nil
}

// CanSupport implements sql.Index: every range must give each key column
// a value, NULL, not NULL, anything or nothing.
func (u uniqueIndex) CanSupport(_ *sql.Context, ranges ...sql.Range) bool {
	for _, r := range ranges {
		mr, ok := r.(sql.MySQLRange)
		if !ok || len(mr) != len(u.cols) {
			return false
		}
		for _, ce := range mr {
			if c, _ := cutOf(ce); c == cutOther {
				return false
			}
		}
	}
	return true
}

// Order implements sql.OrderedIndex: a scan of the index has no order,
// so the planner keeps the Sort of an ORDER BY over the whole table.
func (u uniqueIndex) Order() sql.IndexOrder { return sql.IndexOrderNone }

// Reversible implements sql.OrderedIndex: lookups are not read backwards,
// so the planner keeps the Sort of an ORDER BY ... DESC.
func (u uniqueIndex) Reversible() bool { return false }

// indexedStore is a store table answering one lookup.
type indexedStore struct{ *storeTable }

var (
	_ sql.IndexedTable = indexedStore{}
	_ sql.OrderedIndex = uniqueIndex{}
)

// lookupPartition holds the rows a lookup found.
type lookupPartition struct{ rows []sql.Row }

func (*lookupPartition) Key() []byte { return []byte("lookup") }

type lookupPartitions struct {
	p    *lookupPartition
	done bool
}

func (it *lookupPartitions) Next(*sql.Context) (sql.Partition, error) {
	if it.done {
		return nil, io.EOF
	}
	it.done = true
	return it.p, nil
}

func (it *lookupPartitions) Close(*sql.Context) error { return nil }

// LookupPartitions implements sql.IndexedTable: one partition with the
// rows, in key order, that the lookup's ranges hold.
func (t indexedStore) LookupPartitions(ctx *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	rows, err := t.lookup(ctx, lookup)
	if err != nil {
		return nil, err
	}
	return &lookupPartitions{p: &lookupPartition{rows: rows}}, nil
}

// lookup returns the rows the lookup's ranges hold, each once, in key
// order.
func (t *storeTable) lookup(ctx *sql.Context, lookup sql.IndexLookup) ([]sql.Row, error) {
	u, ok := lookup.Index.(uniqueIndex)
	if !ok || u.t != t {
		return nil, fmt.Errorf("lookup on %s through an index of another table", t.name)
	}
	ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("lookup on %s: ranges of type %T", t.name, lookup.Ranges)
	}
	// IsEmptyRange is not consulted: plan.LookupBuilder sets it for a
	// NULL key even when the comparison is null-safe and the NULL range
	// holds rows.
	t.mu.Lock()
	defer t.mu.Unlock()
	if u.n >= len(t.ords) {
		return nil, fmt.Errorf("lookup on %s: no key %d", t.name, u.n)
	}
	ords := t.ords[u.n]
	found := map[int]bool{}
	var out []int
	for _, r := range ranges {
		if len(r) != len(ords) {
			return nil, fmt.Errorf("lookup on %s: %d columns for a key of %d", t.name, len(r), len(ords))
		}
		cuts := make([]columnCut, len(r))
		vals := make([]any, len(r))
		hashable, empty := true, false
		for j, ce := range r {
			cuts[j], vals[j] = cutOf(ce)
			switch cuts[j] {
			case cutEmpty:
				empty = true
			case cutOther:
				return nil, fmt.Errorf("lookup on %s: range %s is not supported", t.name, r.DebugString())
			case cutValue:
				col := t.schema[ords[j]]
				v, _, err := col.Type.Convert(ctx, vals[j])
				if err != nil || v == nil || !exactKey(col.Type, t.fold[u.n][j]) {
					hashable = false
				} else {
					vals[j] = v
				}
			default:
				hashable = false
			}
		}
		if empty {
			continue
		}
		if hashable {
			probe := make(sql.Row, len(t.schema))
			for j, o := range ords {
				probe[o] = vals[j]
			}
			k, _ := t.keyOf(u.n, probe)
			if pos, ok := t.index[u.n][k]; ok && !found[pos] {
				match, err := t.holds(ctx, t.rows[pos], ords, r)
				if err != nil {
					return nil, err
				}
				if match {
					found[pos] = true
					out = append(out, pos)
				}
			}
			continue
		}
		for pos, row := range t.rows {
			if row == nil || found[pos] {
				continue
			}
			match, err := t.holds(ctx, row, ords, r)
			if err != nil {
				return nil, err
			}
			if match {
				found[pos] = true
				out = append(out, pos)
			}
		}
	}
	// The planner drops an ascending ORDER BY on the key's leading
	// columns above any lookup on the key (replace_sort.go does not ask
	// OrderedIndex there), so the rows come in key order, NULLs first,
	// as the engine's Sort would put them.
	var cmpErr error
	slices.SortStableFunc(out, func(a, b int) int {
		for _, o := range ords {
			x, y := t.rows[a][o], t.rows[b][o]
			switch {
			case x == nil && y == nil:
				continue
			case x == nil:
				return -1
			case y == nil:
				return 1
			}
			c, err := t.schema[o].Type.Compare(ctx, x, y)
			if err != nil && cmpErr == nil {
				cmpErr = err
			}
			if c != 0 {
				return c
			}
		}
		return a - b
	})
	if cmpErr != nil {
		return nil, fmt.Errorf("lookup on %s: %w", t.name, cmpErr)
	}
	rows := make([]sql.Row, len(out))
	for i, pos := range out {
		rows[i] = t.rows[pos]
	}
	return rows, nil
}

// holds reports whether the key columns ords of row are in the range r.
func (t *storeTable) holds(ctx *sql.Context, row sql.Row, ords []int, r sql.MySQLRange) (bool, error) {
	for j, ce := range r {
		v := row[ords[j]]
		cut, want := cutOf(ce)
		switch cut {
		case cutAll:
		case cutNull:
			if v != nil {
				return false, nil
			}
		case cutNotNull:
			if v == nil {
				return false, nil
			}
		case cutValue:
			if v == nil {
				return false, nil
			}
			c, err := t.schema[ords[j]].Type.Compare(ctx, v, want)
			if err != nil {
				return false, fmt.Errorf("lookup on %s: %w", t.name, err)
			}
			if c != 0 {
				return false, nil
			}
		default:
			return false, nil
		}
	}
	return true, nil
}

// exactKey reports whether keyOf's encoding of a column's values is
// equal exactly when the engine's comparison is: integers, and strings of
// a binary NO PAD collation (no case folding, no trailing-space padding).
func exactKey(typ sql.Type, fold bool) bool {
	if fold {
		return false
	}
	if types.IsInteger(typ) {
		return true
	}
	st, ok := typ.(sql.StringType)
	if !ok {
		return false
	}
	name := st.Collation().Name()
	return name == sql.Collation_utf8mb4_0900_bin.Name() || name == sql.Collation_binary.Name() ||
		strings.HasSuffix(name, "_0900_bin")
}
