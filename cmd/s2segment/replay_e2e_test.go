package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/fixtures"
	"github.com/s2segment/s2segment/internal/eventsource"
)

// expectedRows runs the bundled fixtures through the Send Data encoder on
// their own, without replay, and returns each row's 11 values by messageId.
func expectedRows(t *testing.T) map[string][]json.RawMessage {
	t.Helper()
	enc, err := singlestore.NewEncoder(singlestore.Options{})
	require.NoError(t, err)
	r, err := eventsource.Open(context.Background(), eventsource.Config{FS: fixtures.FS()}, []string{fixtures.DefaultDir}, nil)
	require.NoError(t, err)
	defer r.Close()
	out := map[string][]json.RawMessage{}
	var p destination.Payload
	for ev, err := range r.All() {
		require.NoError(t, err)
		buf, err := enc.Process(nil, ev.Data, &p)
		require.NoError(t, err, "%s line %d", ev.Source, ev.Line)
		_ = buf
		row, err := enc.AppendRow([]byte("["), &p)
		require.NoError(t, err)
		var values []json.RawMessage
		require.NoError(t, json.Unmarshal(append(row, ']'), &values))
		require.Len(t, values, len(singlestore.Columns))
		var id string
		require.NoError(t, json.Unmarshal(values[0], &id))
		out[id] = values
	}
	return out
}

// jsonColumns are the columns holding JSON.
var jsonColumns = map[string]bool{"properties": true, "traits": true, "context": true}

// sameJSON compares a JSON column's value as sent with the value read back.
// MariaDB keeps JSON as text, so it comes back as a string holding the JSON,
// digit for digit; the embedded engine reads JSON numbers as float64, so
// both sides are compared through float64 there.
func sameJSON(t *testing.T, want, got json.RawMessage, mariadb bool) bool {
	t.Helper()
	if string(want) == "null" || string(got) == "null" {
		return string(want) == string(got)
	}
	if mariadb {
		var text string
		require.NoError(t, json.Unmarshal(got, &text), "MariaDB returns JSON columns as strings: %s", got)
		got = json.RawMessage(text)
	}
	decode := func(b []byte) any {
		d := json.NewDecoder(bytes.NewReader(b))
		if mariadb {
			d.UseNumber()
		}
		var v any
		require.NoError(t, d.Decode(&v), "%s", b)
		return v
	}
	return reflect.DeepEqual(decode(want), decode(got))
}

// TestReplayEndToEnd replays the bundled fixtures into the emulator on each
// backend through real HTTP, reads every row back through the Data API and
// compares it column by column with the rows the encoder makes of the same
// events; then replays again and checks that no row was added.
func TestReplayEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the end-to-end replay of every fixture on every backend")
	}
	want, err := fixtures.Expect(fixtures.DefaultDir)
	require.NoError(t, err)
	expected := expectedRows(t)
	require.Len(t, expected, int(sumRows(want.Rows)))

	for name, dsn := range backends() {
		t.Run(name, func(t *testing.T) {
			tt := newTestTarget(t, dsn)
			code, out, errOut := runCLI(t, "", tt.args("--batch-size", "8", "--concurrency", "3")...)
			require.Equal(t, exitOK, code, errOut)
			s := parseSummary(t, errOut)
			assert.Equal(t, sumRows(want.Rows), s.counts["written"])
			assert.Equal(t, sumRows(want.Rows), s.counts["new rows"])
			assert.GreaterOrEqual(t, s.counts["requests"], sumRows(want.Rows)/8)
			assert.Equal(t, fmt.Sprintf("%s.segment_data now holds %d rows (SELECT COUNT(*) through the Data API).\n", tt.database, sumRows(want.Rows)), out)

			cols := "`" + strings.Join(singlestore.Columns[:], "`, `") + "`"
			rows, err := tt.client.QueryRows(context.Background(), "SELECT "+cols+" FROM `segment_data`")
			require.NoError(t, err)
			require.Len(t, rows, len(expected))
			for _, got := range rows {
				var id string
				require.NoError(t, json.Unmarshal(got["messageId"], &id))
				wantRow, ok := expected[id]
				require.True(t, ok, "unexpected row %s", id)
				for i, col := range singlestore.Columns {
					if jsonColumns[col] {
						assert.True(t, sameJSON(t, wantRow[i], got[col], tt.mariadb), "%s %s: want %s, got %s", id, col, wantRow[i], got[col])
						continue
					}
					assert.JSONEq(t, string(wantRow[i]), string(got[col]), "%s %s", id, col)
				}
			}

			// Replaying the same events again adds nothing.
			code, _, errOut = runCLI(t, "", tt.args("--quiet")...)
			require.Equal(t, exitOK, code, errOut)
			s = parseSummary(t, errOut)
			assert.Equal(t, sumRows(want.Rows), s.counts["written"])
			assert.Zero(t, s.counts["new rows"])
			assert.Contains(t, s.notes["new rows"], fmt.Sprintf("all %d were already in the table", sumRows(want.Rows)))
			assert.Equal(t, sumRows(want.Rows), tt.count(t, "segment_data"))
		})
	}
}
