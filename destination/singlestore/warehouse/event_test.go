package warehouse

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2025, 7, 8, 0, 0, 0, 0, time.UTC)

// encodeAll plans rows against s, applies the changes and encodes every
// row; it returns each row's arguments by column, and the conflicts.
func encodeAll(t *testing.T, s *Schema, rows []Row) ([]map[string]json.RawMessage, []Conflict) {
	t.Helper()
	for _, c := range s.Plan(rows) {
		s.Apply(c)
	}
	var out []map[string]json.RawMessage
	var conflicts []Conflict
	for i := range rows {
		r := &rows[i]
		tb := s.Tables[r.Table]
		cols := Columns(tb, []*Row{r})
		enc, err := NewEncoder(tb, cols)
		require.NoError(t, err)
		b, err := enc.Append(nil, r)
		require.NoError(t, err)
		var args []json.RawMessage
		require.NoError(t, json.Unmarshal(append(append([]byte{'['}, b...), ']'), &args), "%s", b)
		m := map[string]json.RawMessage{}
		for j, c := range cols {
			if string(args[j]) != "null" {
				m[c] = args[j]
			}
		}
		enc.Conflicts(r.Table, func(c Conflict) { conflicts = append(conflicts, c) })
		out = append(out, m)
	}
	return out, conflicts
}

func rowsOf(t *testing.T, events ...string) []Row {
	t.Helper()
	var out []Row
	for _, e := range events {
		rs, err := Rows([]byte(e), testNow)
		require.NoError(t, err, e)
		out = append(out, rs...)
	}
	return out
}

func TestTrackRows(t *testing.T) {
	rows := rowsOf(t, `{"type":"track","event":"Order Completed","messageId":"m1","userId":"u1","anonymousId":"a1",
		"receivedAt":"2025-07-07T10:00:01.000Z","sentAt":"2025-07-07T10:00:00.500Z","originalTimestamp":"2025-07-07T10:00:00.000Z","timestamp":"2025-07-07T10:00:00.900Z",
		"context":{"page":{"url":"https://x"},"ip":"1.2.3.4"},"integrations":{"All":true},
		"properties":{"total":12.5,"items":[1,2],"big":123456789012345678901234567890,"paid":true,"at":"2025-07-07T12:00:00+02:00","address":{"street":"Main"},"注文":"x","userId":"nope","n":3}}`)
	require.Len(t, rows, 2)
	assert.Equal(t, "tracks", rows[0].Table)
	assert.Equal(t, "order_completed", rows[1].Table)
	s := NewSchema(0)
	args, conflicts := encodeAll(t, s, rows)
	ev := s.Tables["order_completed"]
	types := map[string]string{}
	for _, c := range ev.Columns {
		types[c.Name] = c.Type.SQL()
	}
	assert.Equal(t, map[string]string{"id": "VARCHAR(255) NOT NULL", "anonymous_id": "TEXT", "user_id": "TEXT", "event": "TEXT", "event_text": "TEXT",
		"received_at": "DATETIME(6)", "sent_at": "DATETIME(6)", "original_timestamp": "DATETIME(6)", "timestamp": "DATETIME(6)", "uuid_ts": "DATETIME(6)",
		"_unmapped": "JSON", "context_page_url": "TEXT", "context_ip": "TEXT", "total": "DOUBLE", "items": "JSON", "big": "TEXT", "paid": "BOOL",
		"at": "DATETIME(6)", "address_street": "TEXT", "n": "BIGINT"}, types)
	a := args[1]
	assert.JSONEq(t, `"order_completed"`, string(a["event"]))
	assert.JSONEq(t, `"Order Completed"`, string(a["event_text"]))
	// receivedAt - (sentAt - originalTimestamp)
	assert.JSONEq(t, `"2025-07-07 10:00:00.500000"`, string(a["timestamp"]))
	assert.JSONEq(t, `"2025-07-08 00:00:00.000000"`, string(a["uuid_ts"]))
	assert.JSONEq(t, `"2025-07-07 10:00:00.000000"`, string(a["at"]), "UTC")
	assert.Equal(t, `"123456789012345678901234567890"`, string(a["big"]), "every digit")
	assert.Equal(t, `[1,2]`, string(a["items"]))
	assert.JSONEq(t, `{"注文":"x","userId":"nope"}`, string(a["_unmapped"]))
	assert.NotContains(t, args[0], "total", "tracks has no properties")
	assert.ElementsMatch(t, []Conflict{{"order_completed", "注文", ReasonNoName}, {"order_completed", "userId", ReasonStandard}}, conflicts)
}

func TestTimestampWithoutSkewFields(t *testing.T) {
	args, _ := encodeAll(t, NewSchema(0), rowsOf(t, `{"type":"page","messageId":"p","timestamp":"2025-07-07T10:00:00+02:00"}`))
	assert.JSONEq(t, `"2025-07-07 08:00:00.000000"`, string(args[0]["timestamp"]))
	assert.JSONEq(t, `"2025-07-07 08:00:00.000000"`, string(args[0]["received_at"]), "received_at falls back to timestamp")
}

func TestIdentifyAndGroupRows(t *testing.T) {
	rows := rowsOf(t,
		`{"type":"identify","messageId":"i1","userId":"u1","receivedAt":"2025-07-07T10:00:00Z","traits":{"email":"a@x","plan":"pro","id":"x"},"context":{"ip":"1"}}`,
		`{"type":"identify","messageId":"i2","anonymousId":"a","receivedAt":"2025-07-07T10:00:00Z","traits":{"email":"b@x"}}`,
		`{"type":"group","messageId":"g1","userId":"u1","groupId":"acme","receivedAt":"2025-07-07T10:00:00Z","traits":{"name":"Acme","employees":10}}`,
		`{"type":"alias","messageId":"al","userId":"u1","previousId":"a","receivedAt":"2025-07-07T10:00:00Z"}`)
	var tables []string
	for _, r := range rows {
		tables = append(tables, r.Table)
	}
	assert.Equal(t, []string{"identifies", "users", "identifies", "groups", "accounts", "aliases"}, tables)
	s := NewSchema(0)
	args, _ := encodeAll(t, s, rows)
	assert.JSONEq(t, `"u1"`, string(args[1]["id"]))
	assert.JSONEq(t, `"a@x"`, string(args[1]["email"]))
	assert.NotContains(t, args[1], "context_ip", "users has no context")
	assert.JSONEq(t, `{"id":"x"}`, string(args[1]["_unmapped"]), "a trait named id does not take the key")
	assert.JSONEq(t, `"acme"`, string(args[4]["id"]))
	assert.JSONEq(t, `10`, string(args[4]["employees"]))
	assert.JSONEq(t, `"a"`, string(args[5]["previous_id"]))
	assert.Equal(t, -1, s.Tables["users"].Column("anonymous_id"))
}

func TestSharedColumnLastKeyWins(t *testing.T) {
	args, conflicts := encodeAll(t, NewSchema(0), rowsOf(t,
		`{"type":"track","event":"E","messageId":"m","timestamp":"2025-07-07T10:00:00Z","properties":{"a_b":1,"a":{"b":2},"Signed Up":"x","signed_up":"y"}}`))
	e := args[1]
	assert.JSONEq(t, `2`, string(e["a_b"]))
	assert.JSONEq(t, `"y"`, string(e["signed_up"]))
	assert.JSONEq(t, `{"a_b":1,"Signed Up":"x"}`, string(e["_unmapped"]))
	assert.Len(t, conflicts, 2)
}

// TestTypeConflicts covers every path of a value into _unmapped.
func TestTypeConflicts(t *testing.T) {
	long := strings.Repeat("z", MaxTextBytes+1)
	base := NewSchema(0)
	base.Apply(Change{Table: "e", Create: true, Columns: append(StandardColumns("e"),
		Column{Name: "n", Type: TypeBigInt}, Column{Name: "d", Type: TypeDouble}, Column{Name: "b", Type: TypeBool},
		Column{Name: "t", Type: TypeDateTime}, Column{Name: "s", Type: TypeText}, Column{Name: "j", Type: TypeJSON},
		Column{Name: "v", Type: TypeText, Limit: -3}, Column{Name: "u", Type: TypeUnknown})})
	for _, tt := range []struct {
		name, value string
		col         string
		fits        bool
	}{
		{"float into bigint", `1.5`, "n", false},
		{"string into bigint", `"7"`, "n", false},
		{"bool into bigint", `true`, "n", false},
		{"big integer into bigint", `9223372036854775808`, "n", false},
		{"integer into bigint", `-9223372036854775808`, "n", true},
		{"exact integer into double", `9007199254740992`, "d", true},
		{"inexact integer into double", `9007199254740993`, "d", false},
		{"inexact big integer into double", `123456789012345678901234567891`, "d", false},
		{"infinite number into double", `1e400`, "d", false},
		{"string into double", `"1.5"`, "d", false},
		{"integer into bool", `1`, "b", false},
		{"bool into bool", `false`, "b", true},
		{"non-timestamp into datetime", `"yesterday"`, "t", false},
		{"number into datetime", `1751883565`, "t", false},
		{"timestamp into datetime", `"2025-07-07T10:00:00Z"`, "t", true},
		{"number into text", `12.50`, "s", true},
		{"array into text", `[1]`, "s", true},
		{"string past TEXT into text", `"` + long + `"`, "s", false},
		{"scalar into json", `"x"`, "j", false},
		{"array into json", `[1,{"a":2}]`, "j", true},
		{"string past varchar(3)", `"abcd"`, "v", false},
		{"string within varchar(3)", `"äbc"`, "v", true},
		{"any value into an unknown type", `1`, "u", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSchema(0)
			for k, v := range base.Tables {
				s.Tables[k] = NewTable(k, v.Columns)
			}
			ev := `{"type":"track","event":"e","messageId":"m","timestamp":"2025-07-07T10:00:00Z","properties":{"` + tt.col + `":` + tt.value + `}}`
			args, conflicts := encodeAll(t, s, rowsOf(t, ev)[1:])
			if tt.fits {
				assert.NotContains(t, args[0], "_unmapped")
				assert.Empty(t, conflicts)
				assert.Contains(t, args[0], tt.col)
				return
			}
			assert.NotContains(t, args[0], tt.col)
			var un map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(args[0]["_unmapped"], &un))
			assert.Equal(t, tt.value, string(un[tt.col]), "the value as sent, under the column's name")
			assert.Equal(t, []Conflict{{"e", tt.col, ReasonType}}, conflicts)
		})
	}
}

func TestColumnCap(t *testing.T) {
	s := NewSchema(len(StandardColumns("e")) + 1)
	args, conflicts := encodeAll(t, s, rowsOf(t,
		`{"type":"track","event":"e","messageId":"m","timestamp":"2025-07-07T10:00:00Z","properties":{"a":1,"b":2}}`)[1:])
	assert.JSONEq(t, `1`, string(args[0]["a"]))
	assert.JSONEq(t, `{"b":2}`, string(args[0]["_unmapped"]))
	assert.Equal(t, []Conflict{{"e", "b", ReasonColumnCap}}, conflicts)
}

func TestOtherUnmappedPaths(t *testing.T) {
	deep := strings.Repeat(`{"x":`, MaxFlattenDepth+1) + "1" + strings.Repeat("}", MaxFlattenDepth+1)
	args, conflicts := encodeAll(t, NewSchema(0), rowsOf(t,
		`{"type":"track","event":"e","messageId":"m","timestamp":"2025-07-07T10:00:00Z","sentAt":"soon","properties":{"d":`+deep+`,"context_ip":"p"}}`)[1:])
	var un map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(args[0]["_unmapped"], &un))
	assert.Equal(t, `"soon"`, string(un["sent_at"]))
	assert.Equal(t, `"p"`, string(un["context_ip"]))
	var reasons []string
	for _, c := range conflicts {
		reasons = append(reasons, c.Reason)
	}
	assert.ElementsMatch(t, []string{ReasonBadTime, ReasonDepth, ReasonStandard}, reasons)
}

func TestInferenceWithinABatch(t *testing.T) {
	s := NewSchema(0)
	ev := func(id, v string) string {
		return `{"type":"track","event":"e","messageId":"` + id + `","timestamp":"2025-07-07T10:00:00Z","properties":{"x":` + v + `}}`
	}
	_, conflicts := encodeAll(t, s, rowsOf(t, ev("1", "1"), ev("2", "2.5")))
	assert.Equal(t, TypeDouble, s.Tables["e"].Columns[s.Tables["e"].Column("x")].Type, "integers and floats make a DOUBLE")
	assert.Empty(t, conflicts)
	s = NewSchema(0)
	encodeAll(t, s, rowsOf(t, ev("1", `"`+strings.Repeat("a", MaxTextBytes+1)+`"`)))
	assert.Equal(t, TypeLongText, s.Tables["e"].Columns[s.Tables["e"].Column("x")].Type)
}

func TestInvalidEvents(t *testing.T) {
	for _, ev := range []string{`[]`, `{"type":"track"}`, `{"type":"nope","messageId":"m","timestamp":"2025-07-07T10:00:00Z"}`,
		`{"type":"track","messageId":"m"}`, `{"type":"track","messageId":"` + strings.Repeat("m", 256) + `","timestamp":"2025-07-07T10:00:00Z"}`, `{`} {
		_, err := Rows([]byte(ev), testNow)
		assert.ErrorIs(t, err, ErrInvalidEvent, ev)
	}
}

func TestUnnamedEventWritesTracksOnly(t *testing.T) {
	rows := rowsOf(t, `{"type":"track","event":"注文","messageId":"m","timestamp":"2025-07-07T10:00:00Z"}`)
	require.Len(t, rows, 1)
	assert.Equal(t, "tracks", rows[0].Table)
}

func FuzzRows(f *testing.F) {
	f.Add([]byte(`{"type":"track","event":"Order Completed","messageId":"m1","timestamp":"2025-07-07T10:00:00Z","properties":{"a":{"b":[1]},"n":1e5}}`))
	f.Add([]byte(`{"type":"identify","messageId":"i","userId":"u","receivedAt":1751883565,"traits":{"注文":null,"x":"2025-07-07 10:00"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := Rows(data, testNow)
		if err != nil {
			return
		}
		s := NewSchema(0)
		for _, c := range s.Plan(rows) {
			s.Apply(c)
		}
		for i := range rows {
			r := &rows[i]
			tb := s.Tables[r.Table]
			enc, err := NewEncoder(tb, Columns(tb, []*Row{r}))
			if err != nil {
				t.Fatal(err)
			}
			b, err := enc.Append(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(append(append([]byte{'['}, b...), ']')) {
				t.Fatalf("row %s is not JSON", b)
			}
		}
	})
}

// TestStandardColumnsAreThoseOfTheTable checks that a key is refused only
// when its column is a standard column of its own table: a group trait
// "name" is a column of groups, a page property "name" is not.
func TestStandardColumnsAreThoseOfTheTable(t *testing.T) {
	rows := rowsOf(t,
		`{"type":"group","messageId":"g","groupId":"a","timestamp":"2025-07-07T10:00:00Z","traits":{"name":"Acme","event":"x","group_id":"y"}}`,
		`{"type":"page","messageId":"p","name":"Home","timestamp":"2025-07-07T10:00:00Z","properties":{"name":"Other","group_id":"z"}}`,
		`{"type":"track","event":"E","messageId":"t","timestamp":"2025-07-07T10:00:00Z","properties":{"name":"n","event":"e"}}`)
	args, conflicts := encodeAll(t, NewSchema(0), rows)
	assert.JSONEq(t, `"Acme"`, string(args[0]["name"]), "groups")
	assert.JSONEq(t, `"x"`, string(args[0]["event"]))
	assert.JSONEq(t, `{"group_id":"y"}`, string(args[0]["_unmapped"]))
	assert.JSONEq(t, `"Home"`, string(args[2]["name"]), "pages")
	assert.JSONEq(t, `"z"`, string(args[2]["group_id"]))
	assert.JSONEq(t, `{"name":"Other"}`, string(args[2]["_unmapped"]))
	assert.JSONEq(t, `"n"`, string(args[4]["name"]), "an event table")
	assert.JSONEq(t, `{"event":"e"}`, string(args[4]["_unmapped"]))
	assert.Len(t, conflicts, 3)
}
