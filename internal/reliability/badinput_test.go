package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// meta holds SQL metacharacters, backticks, quotes, a placeholder, format
// verbs, an escaped NUL and non-ASCII text: every value of the metachar
// case is this, and it must land byte for byte.
const meta = "'; DROP TABLE segment_data; -- `tick` \"dq\" \\ ? %s ${x} \x00 ünïcødé 😀"

// metaJSON is meta as a JSON string.
var metaJSON = func() string { b, _ := json.Marshal(meta); return string(b) }()

// goodEvent is the i-th good event of the corpus: every column set, no
// number the embedded engine would round.
func goodEvent(i int) []byte {
	types := []string{"track", "identify", "page", "screen", "group", "alias"}
	typ := types[i%len(types)]
	var b strings.Builder
	fmt.Fprintf(&b, `{"type":%q,"messageId":"good-%04d","timestamp":"2025-07-07T10:%02d:%02d.123456+02:00","userId":"user-%d","anonymousId":"anon-%d"`,
		typ, i, i/60%60, i%60, i, i)
	switch typ {
	case "track":
		fmt.Fprintf(&b, `,"event":"Order Completed %d"`, i)
	case "page", "screen":
		fmt.Fprintf(&b, `,"name":"Page %d"`, i)
	case "group":
		fmt.Fprintf(&b, `,"groupId":"grp-%d"`, i)
	}
	fmt.Fprintf(&b, `,"properties":{"total":%d.5,"items":[{"sku":"s-%d","qty":2}],"note":"good"},"traits":{"plan":"pro","seats":%d},"context":{"ip":"203.0.113.%d","library":{"name":"analytics.js","version":"1.0"}}}`,
		i, i, i%50, i%250)
	return []byte(b.String())
}

// badInput is one entry of the bad-input corpus and what each edge must do
// with it.
type badInput struct {
	name string
	data []byte
	// id is the messageId a written row would have, "" when the input has
	// none that could land.
	id string
	// reader is the sentinel eventsource reports for the line; nil when
	// the line is delivered as an event (trailingError: and then an error).
	reader        error
	trailingError error
	// writer is the status Writer.Write gives the input passed straight to
	// it (no edge check), with a piece of its message.
	writer    int
	writerMsg string
	// server is the HTTP status of POST /v1/track with the input as body,
	// with a piece of the answer; sinkMsg a piece of the Sink's rejection
	// when the endpoint accepts the body but the event is not written.
	server    int
	serverMsg string
	sinkMsg   string
	// check inspects the row of an input that is written.
	check func(t *testing.T, row map[string]json.RawMessage)
}

// event builds a one-line track event with extra members.
func event(id, extra string) []byte {
	return []byte(`{"type":"track","event":"E","messageId":"` + id + `","timestamp":"2025-01-01T00:00:00Z","userId":"u1"` + extra + `}`)
}

func nested(n int, closed bool) string {
	s := strings.Repeat("[", n)
	if closed {
		s += "1" + strings.Repeat("]", n)
	}
	return s
}

// corpus returns the bad inputs. Each is one line (no raw newline).
func corpus() []badInput {
	wrong := func(field, value, id string) []byte {
		m := map[string]string{"type": `"track"`, "event": `"E"`, "messageId": `"` + id + `"`, "timestamp": `"2025-01-01T00:00:00Z"`, "userId": `"u1"`}
		m[field] = value
		var b strings.Builder
		b.WriteString("{")
		for _, k := range []string{"type", "event", "messageId", "timestamp", "userId", "name", "properties", "anonymousId", "groupId", "traits", "context"} {
			if v, ok := m[k]; ok {
				if b.Len() > 1 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%q:%s", k, v)
			}
		}
		return []byte(b.String() + "}")
	}
	cases := []badInput{
		{name: "truncated object", data: []byte(`{"type":"track","event":"E","messageId":"bad-trunc","properties":{"a":[1,2`),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "invalid JSON at byte offset 74: expected ',' or ']' after an array element",
			server: 400, serverMsg: "invalid JSON"},
		{name: "missing comma", data: []byte(`{"type":"track" "event":"E","messageId":"bad-comma"}`),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "invalid JSON at byte offset 16",
			server: 400, serverMsg: "byte offset"},
		{name: "array, not an object", data: []byte(`[{"type":"track","event":"E","messageId":"bad-array"}]`),
			reader: eventsource.ErrNotObject, writer: 400, writerMsg: "The event is not a JSON object: invalid JSON at byte offset 0: expected a JSON object",
			server: 400, serverMsg: "must be one event, a JSON object"},
		{name: "string, not an object", data: []byte(`"track"`),
			reader: eventsource.ErrNotObject, writer: 400, writerMsg: "The event is not a JSON object: invalid JSON at byte offset 0: expected a JSON object",
			server: 400, serverMsg: "must be one event, a JSON object"},
		{name: "trailing garbage", id: "bad-trailing", data: append(event("bad-trailing", ""), " x"...),
			trailingError: eventsource.ErrMalformed, writer: 400, writerMsg: "invalid JSON at byte offset",
			server: 400, serverMsg: "invalid JSON"},
		{name: "NaN", data: event("bad-nan", `,"properties":{"x":NaN}`),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "invalid JSON at byte offset",
			server: 400, serverMsg: "invalid JSON"},
		{name: "Infinity and -Infinity", data: event("bad-inf", `,"properties":{"x":Infinity,"y":-Infinity}`),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "invalid JSON at byte offset",
			server: 400, serverMsg: "invalid JSON"},
		{name: "raw control character", data: event("bad-ctrl", ",\"properties\":{\"s\":\"a\tb\"}"),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "control character",
			server: 400, serverMsg: "invalid JSON"},
		{name: "raw NUL byte", data: event("bad-nul", ",\"properties\":{\"s\":\"a\x00b\"}"),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "control character",
			server: 400, serverMsg: "invalid JSON"},
		{name: "invalid UTF-8", id: "bad-utf8", data: event("bad-utf8", ",\"properties\":{\"s\":\"a\xff\xfeb\"}"),
			reader: eventsource.ErrInvalidUTF8,
			// The Writer checks UTF-8 itself: the engine would replace the
			// bytes, which changes the value.
			writer: 400, writerMsg: "invalid UTF-8 in a string",
			server: 400, serverMsg: "invalid UTF-8 at byte offset"},
		{name: "huge string (2 MiB)", data: event("bad-huge", `,"properties":{"s":"`+strings.Repeat("x", 2<<20)+`"}`),
			reader: eventsource.ErrTooLarge, writer: 413, writerMsg: "too large for one Data API request",
			server: 413, serverMsg: "limit"},
		{name: "nested 10,001 deep", data: event("bad-deep10k", `,"properties":{"a":`+nested(10_001, true)+`}`),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "nested more than 10000 levels deep at byte offset",
			server: 400, serverMsg: "nested more than 128 levels"},
		{name: "nested 1,000,000 deep", data: event("bad-deep1m", `,"properties":{"a":`+nested(1_000_000, true)+`}`),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "nested more than 10000 levels deep at byte offset",
			server: 413, serverMsg: "limit"},
		{name: "nested 1,000,000 deep, unclosed", data: event("bad-deep1m-open", `,"properties":{"a":`+nested(1_000_000, false)),
			reader: eventsource.ErrMalformed, writer: 400, writerMsg: "nested more than 10000 levels deep at byte offset",
			server: 413, serverMsg: "limit"},
		{name: "duplicate keys", id: "bad-dup",
			data:   []byte(`{"type":"track","type":"identify","event":"First","event":"Second","messageId":"bad-dup","timestamp":"2025-01-01T00:00:00Z","userId":"u1","properties":{"a":1,"a":2}}`),
			writer: 200, server: 200,
			check: func(t *testing.T, row map[string]json.RawMessage) {
				// Of duplicate keys the first counts, as in gjson and so in
				// the mapping (destination's documented choice).
				assert.Equal(t, `"track"`, string(row["type"]))
				assert.Equal(t, `"First"`, string(row["event"]))
			}},
		{name: "SQL metacharacters and backticks in every value", id: "bad-meta-`'; --?",
			data: []byte(`{"type":"track","messageId":"bad-meta-` + "`" + `'; --?","timestamp":"2025-01-01T00:00:00Z","event":` + metaJSON +
				`,"name":` + metaJSON + `,"userId":` + metaJSON + `,"anonymousId":` + metaJSON + `,"groupId":` + metaJSON +
				`,"properties":{"` + "`k`" + `'; --":` + metaJSON + `},"traits":{"t":` + metaJSON + `},"context":{"ip":` + metaJSON + `}}`),
			writer: 200, server: 200,
			check: func(t *testing.T, row map[string]json.RawMessage) {
				for _, col := range []string{"event", "name", "userId", "anonymousId", "groupId"} {
					var s string
					require.NoError(t, json.Unmarshal(row[col], &s), col)
					assert.Equal(t, meta, s, "column %s", col)
				}
				var props map[string]string
				require.NoError(t, json.Unmarshal(row["properties"], &props))
				assert.Equal(t, map[string]string{"`k`'; --": meta}, props)
				assert.JSONEq(t, `{"t":`+metaJSON+`}`, string(row["traits"]))
				assert.JSONEq(t, `{"ip":`+metaJSON+`}`, string(row["context"]))
			}},
		{name: "empty object", data: []byte(`{}`),
			writer: 400, writerMsg: "does not match the subscription",
			server: 200, sinkMsg: "missing the required field 'event'"},
		{name: "wrong type: messageId number", id: "123", data: wrong("messageId", "123", ""),
			writer: 200, server: 200,
			check: func(t *testing.T, row map[string]json.RawMessage) {
				assert.Equal(t, `"123"`, string(row["messageId"]), "coerced to a string, as Segment's validation does")
			}},
		{name: "wrong type: timestamp boolean", data: wrong("timestamp", "true", "bad-w-ts"),
			writer: 400, writerMsg: "Timestamp must be a valid date and time string", server: 200, sinkMsg: "Timestamp must be"},
		{name: "wrong type: type object", data: wrong("type", "{}", "bad-w-type"),
			writer: 400, writerMsg: "does not match the subscription", server: 200, sinkMsg: "does not match the subscription"},
		{name: "wrong type: event array", data: wrong("event", "[]", "bad-w-event"),
			writer: 400, writerMsg: "Event must be a string but it was an array.", server: 200, sinkMsg: "Event must be a string"},
		{name: "wrong type: name object", data: wrong("name", "{}", "bad-w-name"),
			writer: 400, writerMsg: "Name must be a string but it was an object.", server: 200, sinkMsg: "Name must be a string"},
		{name: "wrong type: properties string", data: wrong("properties", `"str"`, "bad-w-props"),
			writer: 400, writerMsg: "Properties must be an object but it was a string.", server: 200, sinkMsg: "Properties must be an object"},
		{name: "wrong type: userId object", data: wrong("userId", `{"a":1}`, "bad-w-user"),
			writer: 400, writerMsg: "User ID must be a string but it was an object.", server: 200, sinkMsg: "User ID must be a string"},
		{name: "wrong type: anonymousId one-item array", id: "bad-w-anon", data: wrong("anonymousId", `["a1"]`, "bad-w-anon"),
			writer: 200, server: 200,
			check: func(t *testing.T, row map[string]json.RawMessage) {
				assert.Equal(t, `"a1"`, string(row["anonymousId"]), "a one-item array becomes its item, as ajv coerces")
			}},
		{name: "wrong type: anonymousId array", data: wrong("anonymousId", `["a1","a2"]`, "bad-w-anon2"),
			writer: 400, writerMsg: "Anonymous ID must be a string but it was an array.", server: 200, sinkMsg: "Anonymous ID must be a string"},
		{name: "wrong type: groupId object", data: wrong("groupId", "{}", "bad-w-group"),
			writer: 400, writerMsg: "Group ID must be a string but it was an object.", server: 200, sinkMsg: "Group ID must be a string"},
		{name: "wrong type: traits number", data: wrong("traits", "5", "bad-w-traits"),
			writer: 400, writerMsg: "Traits must be an object but it was a number.", server: 200, sinkMsg: "Traits must be an object"},
		{name: "wrong type: context string", data: wrong("context", `"x"`, "bad-w-ctx"),
			writer: 400, writerMsg: "Context must be an object but it was a string.", server: 200, sinkMsg: "Context must be an object"},
	}
	return cases
}

// newBadInputAPI starts an emulator and returns a Writer of a fresh dedupe
// table and a client to read it back.
func newBadInputAPI(t *testing.T, table string) (*liveAPI, *singlestore.Writer, *dataapi.Client) {
	t.Helper()
	a := newLiveAPI(t, emulator.Config{}, nil)
	c := a.reader()
	return a, newWriter(t, c, c, table, 100), c
}

// rowsByID reads back every column of every row, by messageId.
func rowsByID(t *testing.T, c *dataapi.Client, table string) map[string]map[string]json.RawMessage {
	t.Helper()
	rows, err := c.QueryRows(context.Background(), "SELECT * FROM "+singlestore.QuoteIdentifier(table))
	require.NoError(t, err)
	out := map[string]map[string]json.RawMessage{}
	for _, r := range rows {
		var id string
		require.NoError(t, json.Unmarshal(r["messageId"], &id))
		_, dup := out[id]
		assert.False(t, dup, "messageId %q is in the table twice", id)
		out[id] = r
	}
	return out
}

// checkGoodRow compares the row of a good event with the event, column by
// column.
func checkGoodRow(t *testing.T, ev []byte, row map[string]json.RawMessage) {
	t.Helper()
	id := gjson.GetBytes(ev, "messageId").Str
	if !assert.NotNil(t, row, "good event %s must be in the table", id) {
		return
	}
	ts, err := destination.ParseTime(gjson.GetBytes(ev, "timestamp").Str)
	require.NoError(t, err)
	assert.Equal(t, `"`+string(singlestore.AppendDateTime(nil, ts))+`"`, string(row["timestamp"]), "timestamp of %s", id)
	for _, col := range []string{"type", "event", "name", "userId", "anonymousId", "groupId"} {
		want := "null"
		if v := gjson.GetBytes(ev, col); v.Exists() {
			want = v.Raw
		}
		assert.Equal(t, want, string(row[col]), "%s of %s", col, id)
	}
	for _, col := range []string{"properties", "traits", "context"} {
		want := "null"
		if v := gjson.GetBytes(ev, col); v.Exists() {
			want = v.Raw
		}
		assert.JSONEq(t, want, string(row[col]), "%s of %s", col, id)
	}
}

// checkTable checks what the table holds after a corpus went through an
// edge: every good event's row, exactly; each written bad input's row as
// its check says; nothing else.
func checkTable(t *testing.T, c *dataapi.Client, table string, goods [][]byte, written map[string]badInput) {
	t.Helper()
	rows := rowsByID(t, c, table)
	for _, ev := range goods {
		checkGoodRow(t, ev, rows[gjson.GetBytes(ev, "messageId").Str])
	}
	for id, b := range written {
		row := rows[id]
		if assert.NotNil(t, row, "%s: row %q", b.name, id) && b.check != nil {
			b.check(t, row)
		}
	}
	want := map[string]bool{}
	for _, ev := range goods {
		want[gjson.GetBytes(ev, "messageId").Str] = true
	}
	for id := range written {
		want[id] = true
	}
	var extra []string
	for id := range rows {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	assert.Empty(t, extra, "the table holds the good events and the written inputs, nothing else")
}

// TestBadInputEventSource reads a file in which every bad input sits
// between two good events: each bad line is reported with its line and
// the sentinel of its problem, the good events come through byte for byte,
// and writing what the reader delivered lands exactly the good events and
// the well-formed bad ones that are valid.
func TestBadInputEventSource(t *testing.T) {
	t.Parallel()
	cases := corpus()
	var (
		file  bytes.Buffer
		goods [][]byte
	)
	type expect struct {
		line  int
		data  []byte
		err   error
		cause string
	}
	var want []expect
	line := 0
	for i, c := range cases {
		g1, g2 := goodEvent(2*i), goodEvent(2*i+1)
		goods = append(goods, g1, g2)
		for _, l := range [][]byte{g1, c.data, g2} {
			line++
			file.Write(l)
			file.WriteByte('\n')
			switch {
			case !bytes.Equal(l, c.data):
				want = append(want, expect{line: line, data: l})
			case c.reader != nil:
				want = append(want, expect{line: line, err: c.reader, cause: c.name})
			case c.trailingError != nil:
				// The line's object, then an error for the rest of the line.
				dec := json.NewDecoder(bytes.NewReader(l))
				var obj json.RawMessage
				require.NoError(t, dec.Decode(&obj), c.name)
				want = append(want, expect{line: line, data: l[:dec.InputOffset()]},
					expect{line: line, err: c.trailingError, cause: c.name})
			default:
				want = append(want, expect{line: line, data: l})
			}
		}
	}
	path := filepath.Join(t.TempDir(), "corpus.ndjson")
	require.NoError(t, os.WriteFile(path, file.Bytes(), 0o600))

	r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{path}, nil)
	require.NoError(t, err)
	defer r.Close()
	var delivered [][]byte
	for k := 0; ; k++ {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			assert.Equal(t, len(want), k, "items read")
			break
		}
		require.Less(t, k, len(want), "more items than expected: %v %s", err, ev.Data)
		w := want[k]
		if w.err != nil {
			var e *eventsource.Error
			if assert.ErrorAs(t, err, &e, "%s: line %d must be an error", w.cause, w.line) {
				assert.ErrorIs(t, err, w.err, w.cause)
				assert.Equal(t, w.line, e.Line, "%s: the error names the line", w.cause)
				assert.Equal(t, path, e.Source)
				assert.NotContains(t, err.Error(), strings.Repeat("[", 100), "%s: the error does not echo the input", w.cause)
			}
			continue
		}
		if assert.NoError(t, err, "line %d must be an event", w.line) {
			assert.Equal(t, w.line, ev.Line)
			assert.Equal(t, string(w.data), string(ev.Data), "line %d comes through byte for byte", w.line)
			delivered = append(delivered, ev.Data)
		}
	}

	// Write what was delivered, each bad one with a good neighbour.
	_, w, c := newBadInputAPI(t, "from_eventsource")
	written := map[string]badInput{}
	byID := map[string]badInput{}
	for _, b := range cases {
		if b.id != "" {
			byID[b.id] = b
		}
	}
	ms := w.Write(context.Background(), delivered)
	for i, res := range ms.Results {
		id := gjson.GetBytes(delivered[i], "messageId").String()
		if b, ok := byID[id]; ok && res.OK() {
			written[id] = b
		}
		if strings.HasPrefix(id, "good-") {
			assert.True(t, res.OK(), "good event %s: %d %s", id, res.Status, res.ErrorMessage)
		}
	}
	// Invalid UTF-8 never gets past the reader.
	assert.NotContains(t, written, "bad-utf8")
	checkTable(t, c, "from_eventsource", goods, written)
}

// TestBadInputEventSourceTrailingGarbage pins how the reader handles a
// line with text after its object: the object is delivered, then an error
// for the rest of that line, and reading resumes at the next line, whose
// event is delivered too (recovery in NDJSON is line by line).
func TestBadInputEventSourceTrailingGarbage(t *testing.T) {
	t.Parallel()
	obj := event("bad-trailing", "")
	data := string(goodEvent(1)) + "\n" + string(obj) + " x\n" + string(goodEvent(2)) + "\n"
	r, err := eventsource.Open(context.Background(), eventsource.Config{}, []string{"-"}, strings.NewReader(data))
	require.NoError(t, err)
	var got []string
	for ev, err := range r.All() {
		if err != nil {
			var e *eventsource.Error
			require.ErrorAs(t, err, &e)
			assert.ErrorIs(t, err, eventsource.ErrMalformed)
			assert.Equal(t, 2, e.Line)
			assert.Equal(t, int64(len(goodEvent(1))+1+len(obj)+1), e.Offset, "the offset of the trailing text")
			assert.Contains(t, err.Error(), "expected a JSON value, got 'x'")
			assert.Contains(t, err.Error(), "reading resumes at line 3")
			got = append(got, "error")
			continue
		}
		got = append(got, gjson.GetBytes(ev.Data, "messageId").Str)
	}
	assert.Equal(t, []string{"good-0001", "bad-trailing", "error", "good-0002"}, got)
}

// TestBadInputWriter passes each bad input straight to Writer.Write (no edge
// check) between two good events: the bad input gets its own clear result,
// its neighbours are written, nothing panics, and the table holds exactly
// the good events and the bad inputs that are valid.
func TestBadInputWriter(t *testing.T) {
	t.Parallel()
	_, w, c := newBadInputAPI(t, "from_writer")
	var goods [][]byte
	written := map[string]badInput{}
	for i, b := range corpus() {
		g1, g2 := goodEvent(2*i), goodEvent(2*i+1)
		goods = append(goods, g1, g2)
		ms := w.Write(context.Background(), [][]byte{g1, b.data, g2})
		require.Len(t, ms.Results, 3)
		assert.True(t, ms.Results[0].OK(), "%s: neighbour before: %s", b.name, ms.Results[0].ErrorMessage)
		assert.True(t, ms.Results[2].OK(), "%s: neighbour after: %s", b.name, ms.Results[2].ErrorMessage)
		r := ms.Results[1]
		assert.Equal(t, b.writer, r.Status, "%s: %s", b.name, r.ErrorMessage)
		if b.writer != 200 {
			assert.Contains(t, r.ErrorMessage, b.writerMsg, b.name)
			assert.False(t, r.Retryable(), "%s: a bad input is final", b.name)
			assert.Less(t, len(r.ErrorMessage), 400, "%s: the message is short and does not echo the input", b.name)
			assert.NotEmpty(t, r.ErrorType, b.name)
		} else {
			written[b.id] = b
		}
	}
	checkTable(t, c, "from_writer", goods, written)
}

// TestBadInputEndpoint posts each bad input to the hosted endpoint's
// POST /v1/track, between two good events, and then the /v1/batch forms:
// malformed bodies get a 400 with the byte offset, oversized ones a 413,
// well-formed invalid events are accepted (as Segment's Tracking API does)
// and rejected by the Sink with their field's message; the table holds
// exactly the good events and the valid inputs.
func TestBadInputEndpoint(t *testing.T) {
	t.Parallel()
	_, w, c := newBadInputAPI(t, "from_endpoint")
	sink := &writerSink{w: w}
	const key = "wk_SECRET_bad_input"
	srv, err := endpoint.New(endpoint.Config{
		Sources: []endpoint.Source{{Name: "bad", WriteKey: key, Sink: sink}},
		// Writes are not grouped, so one event's fate cannot touch another's.
		Group: endpoint.GroupConfig{Disabled: true},
	})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	defer func() {
		require.NoError(t, srv.Shutdown(context.Background()))
		<-done
	}()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: time.Minute}

	var goods [][]byte
	written := map[string]badInput{}
	for i, b := range corpus() {
		g1, g2 := goodEvent(2*i), goodEvent(2*i+1)
		goods = append(goods, g1, g2)
		for _, g := range [][]byte{g1, g2} {
			status, body := post(t, client, base+"/v1/"+gjson.GetBytes(g, "type").Str, key, g)
			require.Equal(t, http.StatusOK, status, "%s: good neighbour: %s", b.name, body)
		}
		status, body := post(t, client, base+"/v1/track", key, b.data)
		assert.Equal(t, b.server, status, "%s: %s", b.name, body)
		assert.NotContains(t, body, key, b.name)
		assert.Less(t, len(body), 600, "%s: the answer does not echo the input", b.name)
		if b.server != http.StatusOK {
			assert.Contains(t, body, b.serverMsg, b.name)
			continue
		}
		id := gjson.GetBytes(b.data, "messageId").Str
		if msg, rejected := sink.rejection(id); rejected || b.sinkMsg != "" {
			if id == "" { // the endpoint gave it an id; find it by message
				msg, rejected = sink.anyRejection(b.sinkMsg)
			}
			assert.True(t, rejected, "%s: the Sink must reject it", b.name)
			assert.Contains(t, msg, b.sinkMsg, b.name)
			continue
		}
		written[b.id] = b
	}

	// A batch whose elements are bad in different ways: each fails alone.
	batchGoods := [][]byte{goodEvent(900), goodEvent(901), goodEvent(902)}
	goods = append(goods, batchGoods...)
	body := `{"batch":[` + string(batchGoods[0]) + `,[1,2],` + string(batchGoods[1]) + `,{"messageId":"bad-no-type"},` +
		`{"type":"track","messageId":"bad-big","event":"E","timestamp":"2025-01-01T00:00:00Z","properties":{"s":"` + strings.Repeat("y", 40<<10) + `"}},` +
		string(wrongTypeBatchItem) + `,` + string(event("bad-batch-utf8", ",\"properties\":{\"s\":\"a\xffb\"}")) + `,` +
		string(batchGoods[2]) + `]}`
	status, answer := post(t, client, base+"/v1/batch", key, []byte(body))
	assert.Equal(t, http.StatusOK, status, answer)
	_, rejected := sink.rejection("bad-batch-wrong")
	assert.True(t, rejected, "the element with a wrong type is rejected by the Sink")

	// A body nested a million deep is refused by its size before it is
	// parsed (depth_test.go raises the limits and gets a 400).
	deep := []byte(`{"batch":[` + nested(1_000_000, true) + `]}`)
	status, answer = post(t, client, base+"/v1/batch", key, deep)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status, answer)

	checkTable(t, c, "from_endpoint", goods, written)
}

// wrongTypeBatchItem is a batch element whose properties is a string.
var wrongTypeBatchItem = []byte(`{"type":"track","messageId":"bad-batch-wrong","event":"E","timestamp":"2025-01-01T00:00:00Z","properties":"x"}`)

// anyRejection returns a rejection whose message contains part.
func (s *writerSink) anyRejection(part string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.rejected {
		if strings.Contains(m, part) {
			return m, true
		}
	}
	return "", false
}

// TestOutOfRangeNumberFailsAlone: a number the database cannot hold (1e400
// is valid JSON, but no float64) makes the engine refuse the whole INSERT
// with its generic error 1105. The writer's client probes the halves of the
// request, finds that the error depends on the rows, and bisects down to the
// bad event: it alone fails with the engine's message, and its neighbours
// are written.
func TestOutOfRangeNumberFailsAlone(t *testing.T) {
	t.Parallel()
	_, w, c := newBadInputAPI(t, "out_of_range")
	bad := event("bad-1e400", `,"properties":{"n":1e400}`)
	g1, g2 := goodEvent(1), goodEvent(2)
	require.True(t, gjson.ValidBytes(bad), "1e400 is well-formed JSON: every edge lets it through")

	ms := w.Write(context.Background(), [][]byte{g1, bad, g2})
	assert.Equal(t, http.StatusOK, ms.Results[0].Status)
	assert.Equal(t, http.StatusOK, ms.Results[2].Status)
	r := ms.Results[1]
	// The embedded engine refuses it with its generic errno 1105, which does
	// not say the value is at fault (MySQL's 3140 would): the event fails
	// alone, kept for a retry rather than dropped as invalid.
	assert.Equal(t, http.StatusServiceUnavailable, r.Status)
	assert.Contains(t, r.ErrorMessage, "Failed to insert data: Error 1105")
	assert.True(t, r.Retryable())

	rows := rowsByID(t, c, "out_of_range")
	assert.Len(t, rows, 2, "the good events, and only them")
	checkGoodRow(t, g1, rows["good-0001"])
	checkGoodRow(t, g2, rows["good-0002"])
}

// TestBadNames uses table and database names full of SQL metacharacters and
// backticks: they are quoted, so the table is created and written where it
// was named and nothing else changes; names that cannot be used are refused
// with an error that says why.
func TestBadNames(t *testing.T) {
	t.Parallel()
	dbs := []string{"s2segment", "we`ird; DROP DATABASE s2segment; --", "db 'quoted' \"too\" ?"}
	a := newLiveAPI(t, emulator.Config{Databases: dbs}, nil)
	tables := []string{"seg`ment; DROP TABLE segment_data; --", "t'\"?%s", "ümlaut table ``", "select"}
	for k, db := range dbs {
		// The Writer creates its table in WriterConfig.Database (the
		// statement names it), whatever its client's context database: its
		// client is another database's; cl reads the rows back.
		cfg := a.clientConfig()
		cfg.Database = db
		cl, err := dataapi.New(cfg)
		require.NoError(t, err)
		cfg.Database = dbs[(k+1)%len(dbs)]
		other, err := dataapi.New(cfg)
		require.NoError(t, err)
		for i, tb := range tables {
			w, err := singlestore.NewWriter(singlestore.NewExecutor(other), singlestore.WriterConfig{Database: db, Table: tb})
			require.NoError(t, err, "%q.%q", db, tb)
			require.NoError(t, w.CreateTable(context.Background()), "%q.%q", db, tb)
			evs := [][]byte{goodEvent(10 + i), goodEvent(20 + i)}
			ms := w.Write(context.Background(), evs)
			require.Zero(t, ms.Failed(), "%q.%q: %v", db, tb, ms.Err())
			rows := rowsByID(t, cl, tb)
			assert.Len(t, rows, 2, "%q.%q", db, tb)
			for _, ev := range evs {
				checkGoodRow(t, ev, rows[gjson.GetBytes(ev, "messageId").Str])
			}
		}
		tu, err := cl.QueryTuples(context.Background(), "SHOW TABLES")
		require.NoError(t, err)
		var got []string
		for _, r := range tu.Rows {
			var s string
			require.NoError(t, json.Unmarshal(r[0], &s))
			got = append(got, s)
		}
		assert.ElementsMatch(t, tables, got, "database %q holds exactly the tables created", db)
	}

	for _, tc := range []struct {
		db, table, reason string
	}{
		{"s2segment", "a\x00b", "NUL byte"},
		{"s2segment", "tab\there", "control character"},
		{"s2segment", "trailing ", "ends with a space"},
		{"s2segment", strings.Repeat("t", 257), "the limit is 256"},
		{"s2segment", "bad\xffutf8", "not valid UTF-8"},
		{"a/b", "t", "/"},
		{"a.b", "t", "."},
		{`a\b`, "t", `\`},
		{"", "t", "empty"},
		{strings.Repeat("d", 65), "t", "the limit is 64"},
	} {
		_, err := singlestore.NewWriter(singlestore.NewExecutor(a.reader()), singlestore.WriterConfig{Database: tc.db, Table: tc.table})
		var ie *singlestore.IdentifierError
		if assert.ErrorAs(t, err, &ie, "%q.%q", tc.db, tc.table) {
			assert.ErrorIs(t, err, singlestore.ErrInvalidIdentifier)
			assert.Contains(t, strings.ToLower(ie.Reason), strings.ToLower(tc.reason), "%q.%q: %v", tc.db, tc.table, err)
		}
	}
}
