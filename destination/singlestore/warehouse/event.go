package warehouse

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/s2segment/s2segment/destination"
	"github.com/tidwall/gjson"
)

// Standard column names.
const (
	ColumnID                = "id"
	ColumnAnonymousID       = "anonymous_id"
	ColumnUserID            = "user_id"
	ColumnReceivedAt        = "received_at"
	ColumnSentAt            = "sent_at"
	ColumnOriginalTimestamp = "original_timestamp"
	ColumnTimestamp         = "timestamp"
	ColumnUUIDTS            = "uuid_ts"
	ColumnUnmapped          = "_unmapped"
	ColumnEvent             = "event"
	ColumnEventText         = "event_text"
	ColumnName              = "name"
	ColumnGroupID           = "group_id"
	ColumnPreviousID        = "previous_id"
)

// contextPrefix starts the columns of the flattened context.
const contextPrefix = "context_"

// MaxFlattenDepth is how deep objects are flattened into columns; an object
// nested deeper goes to _unmapped whole, under its key path.
const MaxFlattenDepth = 32

// ErrInvalidEvent is wrapped by the error of an event that has no rows.
var ErrInvalidEvent = errors.New("invalid event")

// EventError is an event the engine cannot write, naming the field at
// fault.
type EventError struct {
	Field  string
	Reason string
}

func (e *EventError) Error() string {
	return fmt.Sprintf("invalid event: %s %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidEvent) hold.
func (e *EventError) Unwrap() error { return ErrInvalidEvent }

// Field is one column value of a row.
type Field struct {
	// Column is the column's name.
	Column string
	// Parent is the key path (dot-joined) of the object holding the
	// value in the event, "" for a property or trait of the top level.
	Parent string
	// Key is the value's key in that object.
	Key string
	// Value is the typed value.
	Value Value
	// Std is the type of a standard column (created with the table), and
	// TypeUnknown for a property, trait or context column.
	Std Type
}

// Reasons a value is in _unmapped.
const (
	ReasonNoName    = "no column name"      // the key snake-cases to nothing
	ReasonStandard  = "standard column"     // the name is a standard column of the table
	ReasonShared    = "shared column"       // a later key of the event has the same column
	ReasonDepth     = "nested too deep"     // an object deeper than MaxFlattenDepth
	ReasonType      = "type conflict"       // the column's type does not hold the value
	ReasonColumnCap = "table column cap"    // the table has no room for another column
	ReasonBadTime   = "not a date and time" // a standard timestamp that does not parse
)

// Path is the value's key path in the event: Parent and Key joined by
// ".".
func (f Field) Path() string { return joinPath(f.Parent, f.Key) }

// Unmapped is one value in a row's _unmapped column.
type Unmapped struct {
	// Key is the JSON key: the column name for a type conflict or the
	// column cap, the key path in the event otherwise.
	Key string
	// Raw is the value's JSON text.
	Raw string
	// Reason says why it has no column.
	Reason string
}

// Row is one row an event writes.
type Row struct {
	// Table is the table's name.
	Table string
	// Upsert is set for users and accounts: the row merges into the one
	// with its id, keeping the latest non-null value per column.
	Upsert bool
	// ID is the row's id: the messageId, or the userId or groupId of an
	// upserted row.
	ID string
	// ReceivedAt orders upserts.
	ReceivedAt time.Time
	// Fields are the row's values: the standard columns first, then the
	// flattened context, properties or traits. Columns are unique.
	Fields []Field
	// Unmapped are the values without a column yet.
	Unmapped []Unmapped
}

// Rows returns the rows of one event (a JSON object): two for a track (its
// tracks row and its event table's), identify (identifies, users, when it
// has a userId) and group (groups, accounts, when it has a groupId), one
// for a page, screen or alias. now is uuid_ts. An event without a string
// messageId, with an unknown type, or without any date and time to use as
// received_at is an *EventError. The rows' strings share event's memory:
// event must not be modified while they are in use.
func Rows(event []byte, now time.Time) ([]Row, error) {
	if !gjson.ValidBytes(event) {
		return nil, &EventError{Field: "event", Reason: "is not valid JSON"}
	}
	// The rows' strings point into event, which the caller keeps as it is
	// while it uses them (names kept beyond that are copied: see snake).
	root := gjson.Parse(unsafe.String(unsafe.SliceData(event), len(event)))
	if !root.IsObject() {
		return nil, &EventError{Field: "event", Reason: "is not a JSON object"}
	}
	var f struct {
		typ, messageID, anonymousID, userID, event, name, groupID, previousID,
		receivedAt, sentAt, originalTimestamp, timestamp, context, properties, traits gjson.Result
	}
	root.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "type":
			f.typ = v
		case "messageId":
			f.messageID = v
		case "anonymousId":
			f.anonymousID = v
		case "userId":
			f.userID = v
		case "event":
			f.event = v
		case "name":
			f.name = v
		case "groupId":
			f.groupID = v
		case "previousId":
			f.previousID = v
		case "receivedAt":
			f.receivedAt = v
		case "sentAt":
			f.sentAt = v
		case "originalTimestamp":
			f.originalTimestamp = v
		case "timestamp":
			f.timestamp = v
		case "context":
			f.context = v
		case "properties":
			f.properties = v
		case "traits":
			f.traits = v
		}
		return true
	})
	if f.typ.Type != gjson.String {
		return nil, &EventError{Field: "type", Reason: "is missing or not a string"}
	}
	typ := f.typ.Str
	switch typ {
	case "track", "identify", "page", "screen", "group", "alias":
	default:
		return nil, &EventError{Field: "type", Reason: strconv.Quote(typ) + " is not track, identify, page, screen, group or alias"}
	}
	id, err := idOf("messageId", f.messageID, true)
	if err != nil {
		return nil, err
	}
	received, rerr := destination.ParseTimeValue(f.receivedAt)
	ts, terr := destination.ParseTimeValue(f.timestamp)
	switch {
	case rerr == nil && datetimeRange(received):
	case terr == nil && datetimeRange(ts):
		received = ts // a replayed file may lack Segment's receivedAt
	default:
		return nil, &EventError{Field: "receivedAt", Reason: "and timestamp are both missing or not dates and times in the years 1000 to 9999"}
	}

	b := builders.Get().(*rowBuilder)
	defer func() {
		b.row = nil // the rows belong to the caller
		builders.Put(b)
	}()
	// The common columns of every per-call table.
	common := func(table string) *Row {
		r := &Row{Table: table, ID: id, ReceivedAt: received}
		b.reset(r, false)
		b.std(ColumnID, TypeID, Value{Kind: KindString, Raw: f.messageID.Raw, Str: id})
		b.stdText(ColumnAnonymousID, f.anonymousID)
		b.stdText(ColumnUserID, f.userID)
		b.stdTime(ColumnReceivedAt, f.receivedAt, received, true)
		b.stdTime(ColumnSentAt, f.sentAt, time.Time{}, false)
		b.stdTime(ColumnOriginalTimestamp, f.originalTimestamp, time.Time{}, false)
		b.stdTime(ColumnTimestamp, f.timestamp, skewCorrected(f.receivedAt, f.sentAt, f.originalTimestamp, f.timestamp), false)
		b.std(ColumnUUIDTS, TypeDateTime, Value{Kind: KindTime, Time: now.UTC()})
		return r
	}
	var rows []Row
	switch typ {
	case "track":
		name := ""
		if f.event.Type == gjson.String {
			name = f.event.Str
		} else if f.event.Exists() && f.event.Type != gjson.Null {
			name = f.event.Raw
		}
		table := TableFor(name)
		ev := gjson.Result{Type: gjson.String, Str: snake(name), Raw: strconv.Quote(snake(name))}
		common(TableTracks)
		b.stdText(ColumnEvent, ev)
		b.stdText(ColumnEventText, f.event)
		std, unmapped := len(b.row.Fields), len(b.row.Unmapped)
		b.flatten(f.context, "context", "context", 0)
		tracks := *b.done()
		rows = append(rows, tracks)
		if table != "" {
			// The event's row has the same standard and context columns:
			// copied from the tracks row rather than read again.
			common(table)
			b.stdText(ColumnEvent, ev)
			b.stdText(ColumnEventText, f.event)
			for _, fl := range tracks.Fields[std:] {
				b.index[fl.Column] = len(b.row.Fields)
				b.row.Fields = append(b.row.Fields, fl)
			}
			b.row.Unmapped = append(b.row.Unmapped, tracks.Unmapped[unmapped:]...)
			b.flatten(f.properties, "", "properties", 0)
			rows = append(rows, *b.done())
		}
	case "identify":
		common(TableIdentifies)
		b.flatten(f.context, "context", "context", 0)
		b.flatten(f.traits, "", "traits", 0)
		rows = append(rows, *b.done())
		if uid, err := idOf("userId", f.userID, false); err != nil {
			return nil, err
		} else if uid != "" {
			rows = append(rows, upsertRow(b, TableUsers, uid, received, now, f.receivedAt, f.traits))
		}
	case "page", "screen":
		common(map[string]string{"page": TablePages, "screen": TableScreens}[typ])
		b.stdText(ColumnName, f.name)
		b.flatten(f.context, "context", "context", 0)
		b.flatten(f.properties, "", "properties", 0)
		rows = append(rows, *b.done())
	case "group":
		gid, err := idOf("groupId", f.groupID, false)
		if err != nil {
			return nil, err
		}
		common(TableGroups)
		b.stdText(ColumnGroupID, f.groupID)
		b.flatten(f.context, "context", "context", 0)
		b.flatten(f.traits, "", "traits", 0)
		rows = append(rows, *b.done())
		if gid != "" {
			rows = append(rows, upsertRow(b, TableAccounts, gid, received, now, f.receivedAt, f.traits))
		}
	case "alias":
		common(TableAliases)
		b.stdText(ColumnPreviousID, f.previousID)
		b.flatten(f.context, "context", "context", 0)
		rows = append(rows, *b.done())
	}
	return rows, nil
}

// upsertRow is the users or accounts row of an identify or group call.
func upsertRow(b *rowBuilder, table, id string, received, now time.Time, receivedAt, traits gjson.Result) Row {
	r := &Row{Table: table, Upsert: true, ID: id, ReceivedAt: received}
	b.reset(r, true)
	b.std(ColumnID, TypeID, Value{Kind: KindString, Raw: strconv.Quote(id), Str: id})
	b.stdTime(ColumnReceivedAt, receivedAt, received, true)
	b.std(ColumnUUIDTS, TypeDateTime, Value{Kind: KindTime, Time: now.UTC()})
	b.flatten(traits, "", "traits", 0)
	return *b.done()
}

// idOf reads an id field: a string (or a number's digits) of 1 to
// MaxIDLength characters. A missing or null id is "" (an error when
// required).
func idOf(field string, v gjson.Result, required bool) (string, error) {
	var s string
	switch v.Type {
	case gjson.String:
		s = v.Str
	case gjson.Number:
		s = v.Raw
	case gjson.Null:
	default:
		if v.Exists() {
			return "", &EventError{Field: field, Reason: "is not a string"}
		}
	}
	if s == "" {
		if required {
			return "", &EventError{Field: field, Reason: "is missing or empty"}
		}
		return "", nil
	}
	if n := utf8.RuneCountInString(s); n > MaxIDLength {
		return "", &EventError{Field: field, Reason: fmt.Sprintf("has %d characters; the limit is %d", n, MaxIDLength)}
	}
	return s, nil
}

// skewCorrected is Segment's timestamp: receivedAt - (sentAt -
// originalTimestamp) when the event has all three, else its timestamp (the
// zero time when it has none).
func skewCorrected(receivedAt, sentAt, originalTimestamp, timestamp gjson.Result) time.Time {
	r, err1 := destination.ParseTimeValue(receivedAt)
	s, err2 := destination.ParseTimeValue(sentAt)
	o, err3 := destination.ParseTimeValue(originalTimestamp)
	if err1 == nil && err2 == nil && err3 == nil {
		return r.Add(-s.Sub(o)).UTC()
	}
	t, err := destination.ParseTimeValue(timestamp)
	if err != nil {
		return time.Time{}
	}
	return t
}

// builders reuse rowBuilders (and their column index) across events.
var builders = sync.Pool{New: func() any { return new(rowBuilder) }}

// rowBuilder accumulates the fields of one row.
type rowBuilder struct {
	row    *Row
	upsert bool
	index  map[string]int // column → index in row.Fields
	hint   int            // the most fields of a row so far: the capacity of the next
	names  map[joinKey]string
}

// maxLocalNames bounds a builder's own cache of column names.
const maxLocalNames = 4096

// column is joinName (ColumnFor when parent is empty) through the
// builder's own cache, which spares the shared caches' synchronisation.
func (b *rowBuilder) column(parent, key string) string {
	k := joinKey{parent, key}
	if n, ok := b.names[k]; ok {
		return n
	}
	var n string
	if parent == "" {
		n = ColumnFor(key)
	} else {
		n = joinName(parent, key)
	}
	if b.names == nil {
		b.names = make(map[joinKey]string, 256)
	}
	if len(b.names) < maxLocalNames {
		b.names[joinKey{strings.Clone(parent), strings.Clone(key)}] = n
	}
	return n
}

func (b *rowBuilder) reset(r *Row, upsert bool) {
	b.row, b.upsert = r, upsert
	r.Fields = make([]Field, 0, max(b.hint, 16))
	if b.index == nil {
		b.index = make(map[string]int, 32)
	} else {
		clear(b.index)
	}
}

func (b *rowBuilder) done() *Row {
	b.hint = max(b.hint, len(b.row.Fields))
	return b.row
}

func (b *rowBuilder) std(col string, t Type, v Value) {
	b.index[col] = len(b.row.Fields)
	b.row.Fields = append(b.row.Fields, Field{Column: col, Key: col, Value: v, Std: t})
}

// stdText adds a standard text column from a JSON value (absent and null
// are NULL: nothing is added).
func (b *rowBuilder) stdText(col string, v gjson.Result) {
	if !v.Exists() || v.Type == gjson.Null {
		b.index[col] = -1 // reserved: no property may take it
		return
	}
	b.std(col, TypeText, valueOf(v))
}

// stdTime adds a standard DATETIME(6) column: t when set, else the parsed
// value; a value that is not a date and time goes to _unmapped.
func (b *rowBuilder) stdTime(col string, v gjson.Result, t time.Time, use bool) {
	if !use && t.IsZero() {
		if !v.Exists() || v.Type == gjson.Null {
			b.index[col] = -1
			return
		}
		var err error
		if t, err = destination.ParseTimeValue(v); err != nil || !datetimeRange(t) {
			b.index[col] = -1
			b.row.Unmapped = append(b.row.Unmapped, Unmapped{Key: col, Raw: v.Raw, Reason: ReasonBadTime})
			return
		}
	}
	if !datetimeRange(t) {
		b.index[col] = -1
		b.row.Unmapped = append(b.row.Unmapped, Unmapped{Key: col, Raw: v.Raw, Reason: ReasonBadTime})
		return
	}
	b.std(col, TypeDateTime, Value{Kind: KindTime, Raw: v.Raw, Time: t})
}

// isStandardColumn reports whether col is one of the row's table's own
// columns (StandardColumns), which no property, trait or context key may
// take.
func (b *rowBuilder) isStandardColumn(col string) bool {
	switch col {
	case ColumnID, ColumnReceivedAt, ColumnUUIDTS, ColumnUnmapped:
		return true
	}
	if b.upsert {
		return false
	}
	switch col {
	case ColumnAnonymousID, ColumnUserID, ColumnSentAt, ColumnOriginalTimestamp, ColumnTimestamp:
		return true
	case ColumnName:
		return b.row.Table == TablePages || b.row.Table == TableScreens
	case ColumnGroupID:
		return b.row.Table == TableGroups
	case ColumnPreviousID:
		return b.row.Table == TableAliases
	case ColumnEvent, ColumnEventText:
		switch b.row.Table {
		case TableIdentifies, TablePages, TableScreens, TableGroups, TableAliases:
			return false
		}
		return true // tracks and the event tables
	}
	return false
}

// flatten adds the members of obj (an object; anything else adds nothing)
// as columns prefix_key, recursing into objects with "_".
func (b *rowBuilder) flatten(obj gjson.Result, prefix, path string, depth int) {
	if !obj.IsObject() {
		return
	}
	context := strings.HasPrefix(path, "context")
	parent := path
	if depth == 0 && !context {
		parent = "" // properties and traits: keys are their own paths
	}
	obj.ForEach(func(k, v gjson.Result) bool {
		key := k.Str
		if v.Type == gjson.Null {
			return true
		}
		col := b.column(prefix, key)
		if col == "" {
			b.unmap(joinPath(parent, key), v.Raw, ReasonNoName)
			return true
		}
		if v.IsObject() {
			if depth+1 >= MaxFlattenDepth {
				b.unmap(joinPath(parent, key), v.Raw, ReasonDepth)
				return true
			}
			b.flatten(v, col, joinPath(parent, key), depth+1)
			return true
		}
		if b.isStandardColumn(col) || (!context && !b.upsert && strings.HasPrefix(col, contextPrefix)) {
			b.unmap(joinPath(parent, key), v.Raw, ReasonStandard)
			return true
		}
		if i, ok := b.index[col]; ok {
			if i < 0 || b.row.Fields[i].Std != TypeUnknown {
				b.unmap(joinPath(parent, key), v.Raw, ReasonStandard)
				return true
			}
			// The later key takes the column; the earlier value stays, in
			// _unmapped under its own key.
			old := b.row.Fields[i]
			b.unmap(old.Path(), old.Value.Raw, ReasonShared)
			b.row.Fields[i] = Field{Column: col, Parent: parent, Key: key, Value: valueOf(v)}
			return true
		}
		b.index[col] = len(b.row.Fields)
		b.row.Fields = append(b.row.Fields, Field{Column: col, Parent: parent, Key: key, Value: valueOf(v)})
		return true
	})
}

// joinPath is the dot-joined key path of key in the object at parent.
func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (b *rowBuilder) unmap(key, raw, reason string) {
	b.row.Unmapped = append(b.row.Unmapped, Unmapped{Key: key, Raw: raw, Reason: reason})
}

// valueOf types a JSON scalar or array.
func valueOf(v gjson.Result) Value {
	switch v.Type {
	case gjson.True, gjson.False:
		return Value{Kind: KindBool, Raw: v.Raw}
	case gjson.Number:
		if strings.ContainsAny(v.Raw, ".eE") {
			return Value{Kind: KindFloat, Raw: v.Raw}
		}
		if _, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
			return Value{Kind: KindInt, Raw: v.Raw}
		}
		return Value{Kind: KindBigInt, Raw: v.Raw}
	case gjson.String:
		if looksLikeTimestamp(v.Str) {
			if t, err := destination.ParseTime(v.Str); err == nil && datetimeRange(t) {
				return Value{Kind: KindTime, Raw: v.Raw, Str: v.Str, Time: t}
			}
		}
		return Value{Kind: KindString, Raw: v.Raw, Str: v.Str}
	}
	return Value{Kind: KindArray, Raw: v.Raw}
}

// looksLikeTimestamp reports whether s has the shape of an ISO-8601 date
// and time: YYYY-MM-DD, then "T" or a space, then HH:MM.
func looksLikeTimestamp(s string) bool {
	if len(s) < 16 {
		return false
	}
	for i, c := range []byte(s[:16]) {
		switch i {
		case 4, 7:
			if c != '-' {
				return false
			}
		case 10:
			if c != 'T' && c != ' ' && c != 't' {
				return false
			}
		case 13:
			if c != ':' {
				return false
			}
		default:
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}
