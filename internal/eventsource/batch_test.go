package eventsource_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/internal/eventsource"
)

// expand returns the events of body, and "error: …" for items that fail.
func expand(t *testing.T, body string) ([]string, error) {
	t.Helper()
	var out []string
	err := eventsource.ExpandBatch([]byte(body), func(ev eventsource.Event, err error) error {
		if err != nil {
			out = append(out, "error: "+err.Error())
			return nil
		}
		assert.Equal(t, eventsource.FormatBatch, ev.Format)
		out = append(out, string(ev.Data))
		return nil
	})
	return out, err
}

func TestExpandBatchMerge(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{"no top-level objects: items untouched",
			`{"batch":[{"type":"track", "event":"A"}]}`,
			[]string{`{"type":"track", "event":"A"}`}},
		{"item without context gets the body's",
			`{"batch":[{"type":"track"}],"context":{"ip":"1.1.1.1"}}`,
			[]string{`{"type":"track","context":{"ip":"1.1.1.1"}}`}},
		{"empty item",
			`{"batch":[{}, { }],"integrations":{"All":true}}`,
			[]string{`{"integrations":{"All":true}}`, `{ "integrations":{"All":true}}`}},
		{"the item's keys win, one level deep",
			`{"batch":[{"context":{"ip":"2.2.2.2","library":{"name":"item"}},"type":"track"}],"context":{"ip":"1.1.1.1","library":{"name":"body","version":"1"},"locale":"de-DE"}}`,
			[]string{`{"context":{"ip":"2.2.2.2","library":{"name":"item"},"locale":"de-DE"},"type":"track"}`}},
		{"null counts as absent",
			`{"batch":[{"type":"track","context":null,"integrations":null}],"context":{"ip":"1.1.1.1"},"integrations":{"All":false}}`,
			[]string{`{"type":"track","context":{"ip":"1.1.1.1"},"integrations":{"All":false}}`}},
		{"an item's non-object context is kept",
			`{"batch":[{"type":"track","context":[1,2]},{"type":"page","context":"x"}],"context":{"ip":"1.1.1.1"}}`,
			[]string{`{"type":"track","context":[1,2]}`, `{"type":"page","context":"x"}`}},
		{"a non-object top-level context is ignored",
			`{"batch":[{"type":"track"}],"context":"nope","integrations":[1]}`,
			[]string{`{"type":"track"}`}},
		{"both merged, in the item's order",
			`{"batch":[{"integrations":{"A":true},"type":"x","context":{}}],"integrations":{"All":false,"A":false},"context":{"ip":"1"}}`,
			[]string{`{"integrations":{"A":true,"All":false},"type":"x","context":{"ip":"1"}}`}},
		{"context after the batch, other members not copied",
			`{"writeKey":"secret","sentAt":"2025-07-07T10:00:00Z","batch":[{"type":"track"}],"context":{"ip":"1.1.1.1"},"messageId":"m"}`,
			[]string{`{"type":"track","context":{"ip":"1.1.1.1"}}`}},
		{"escaped keys are the same keys",
			`{"b\u0061tch":[{"type":"track","cont\u0065xt":{"\u0069p":"2"}}],"context":{"ip":"1","locale":"x"}}`,
			[]string{`{"type":"track","cont\u0065xt":{"\u0069p":"2","locale":"x"}}`}},
		{"first duplicate key wins",
			`{"batch":[{"type":"a"}],"batch":[{"type":"b"}],"context":{"ip":"1"},"context":{"ip":"2"}}`,
			[]string{`{"type":"a","context":{"ip":"1"}}`}},
		{"white space is kept in the item",
			"{\n \"batch\": [\n  {\n   \"type\": \"track\"\n  }\n ],\n \"context\": {\"ip\": \"1\"}\n}",
			[]string{"{\n   \"type\": \"track\"\n  ,\"context\":{\"ip\": \"1\"}}"}},
		{"items that are not objects fail alone",
			`{"batch":[1,{"type":"track"},null],"context":{}}`,
			[]string{"error: element 0 at line 1 (byte 10): expected a JSON object, got number", `{"type":"track","context":{}}`,
				"error: element 2 at line 1 (byte 29): expected a JSON object, got null"}},
		{"big numbers and unicode pass through",
			`{"batch":[{"n":12345678901234567890,"s":"😀"}],"context":{"e":1e400}}`,
			[]string{`{"n":12345678901234567890,"s":"😀","context":{"e":1e400}}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expand(t, tc.body)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestExpandBatchBodyErrors(t *testing.T) {
	for _, tc := range []struct {
		body string
		is   error
		msg  string
	}{
		{``, eventsource.ErrNotBatch, `expected an object with a "batch" array, got an empty body`},
		{`[{"type":"track"}]`, eventsource.ErrNotBatch, `line 1 (byte 0): expected an object with a "batch" array, got array`},
		{`{"type":"track"}`, eventsource.ErrNotBatch, `line 1 (byte 0): expected an object with a "batch" array`},
		{`{"batch":{"type":"track"}}`, eventsource.ErrNotBatch, `line 1 (byte 0): expected an object with a "batch" array`},
		{`{"batch":[{"type":"track"}]`, eventsource.ErrTruncated, `the input ends at byte 27`},
		{`{"batch":[{"type":"track"}]} {}`, eventsource.ErrMalformed, `expected the end of the body, got '{'`},
		{"{\"batch\":[{\"type\":\"tr\nack\"}]}", eventsource.ErrMalformed, `at byte 21 (line 1): expected a character or '"'`},
	} {
		_, err := expand(t, tc.body)
		var e *eventsource.Error
		require.ErrorAs(t, err, &e, "%q", tc.body)
		assert.ErrorIs(t, err, tc.is, "%q", tc.body)
		assert.Contains(t, err.Error(), tc.msg, "%q", tc.body)
		assert.Equal(t, -1, e.Index)
	}
}

func TestExpandBatchPositionsAndStop(t *testing.T) {
	body := "{\"batch\": [\n  {\"type\": \"track\"},\n  {\"type\": \"page\"},\n  {\"type\": \"alias\"}\n]}"
	var lines, indexes []int
	var offsets []int64
	stop := errors.New("stop")
	err := eventsource.ExpandBatch([]byte(body), func(ev eventsource.Event, err error) error {
		require.NoError(t, err)
		assert.Equal(t, "", ev.Source)
		assert.True(t, strings.HasPrefix(body[ev.Offset:], string(ev.Data)))
		lines, indexes, offsets = append(lines, ev.Line), append(indexes, ev.Index), append(offsets, ev.Offset)
		if ev.Index == 1 {
			return stop
		}
		return nil
	})
	require.Equal(t, stop, err, "fn's error is returned as is")
	assert.Equal(t, []int{2, 3}, lines)
	assert.Equal(t, []int{0, 1}, indexes)
	assert.Equal(t, []int64{14, 35}, offsets)
}

func TestExpandBatchAliasesUnchangedItems(t *testing.T) {
	body := []byte(`{"batch":[{"type":"track"},{"type":"page"}],"context":{"ip":"1"}}`)
	var events [][]byte
	require.NoError(t, eventsource.ExpandBatch(body, func(ev eventsource.Event, err error) error {
		events = append(events, ev.Data)
		return err
	}))
	require.Len(t, events, 2)
	assert.Equal(t, `{"type":"track","context":{"ip":"1"}}`, string(events[0]), "merged events are not overwritten by later ones")
	assert.Equal(t, `{"type":"page","context":{"ip":"1"}}`, string(events[1]))
}
