package singlestore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testDB = "s2segment"

// newTestClient returns a real Data API client for handler, served by
// httptest, with retries short enough for tests.
func newTestClient(t *testing.T, handler http.Handler) *dataapi.Client {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	c, err := dataapi.New(dataapi.Config{
		Host: u.Hostname(), Port: u.Port(), Scheme: "http", User: "root", Password: "secret-pw", Database: testDB,
		MaxAttempts: 2, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond, Timeout: 10 * time.Second,
	})
	require.NoError(t, err)
	return c
}

// newEmulator returns a Data API emulator (a real SQL engine) and a client
// for it.
func newEmulator(t *testing.T, cfg emulator.Config) (*emulator.Server, *dataapi.Client) {
	t.Helper()
	em, err := emulator.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = em.Close() })
	return em, newTestClient(t, em)
}

func countingHandler(h http.Handler, n *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	})
}

func events(t *testing.T, cases []sendCase) [][]byte {
	t.Helper()
	out := make([][]byte, len(cases))
	for i, c := range cases {
		out[i] = c.Event
	}
	return out
}

// TestWriterEndToEnd writes every Send Data vector through a real client to
// the emulator, checks each event's result, reads the rows back, and writes
// everything again to check that the dedupe schema writes each event once.
func TestWriterEndToEnd(t *testing.T) {
	_, client := newEmulator(t, emulator.Config{})
	w, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, BatchSize: 7})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, w.CreateTable(ctx))
	require.NoError(t, w.CreateTable(ctx), "CREATE TABLE IF NOT EXISTS runs again")

	cases := readSendCases(t)
	ms := w.Write(ctx, events(t, cases))
	require.Len(t, ms.Results, len(cases))
	written := 0
	for i, c := range cases {
		r := ms.Results[i]
		assert.Equal(t, c.Expect.Status, r.Status, "%s: %s", c.Name, r.ErrorMessage)
		if c.Expect.Status == 200 {
			written++
			assert.True(t, strings.HasPrefix(string(r.Body), `{"rowsAffected":`), "%s: body %s", c.Name, r.Body)
			assert.True(t, json.Valid(r.Sent), c.Name)
		} else {
			assert.Equal(t, c.Expect.Error, r.ErrorMessage, c.Name)
			assert.Empty(t, r.Sent, "%s: nothing was sent", c.Name)
		}
	}

	rows, err := client.QueryRows(ctx, "SELECT `messageId`, `timestamp`, `type`, `event`, `name`, `properties`, `userId`, `anonymousId`, `groupId`, `traits`, `context` FROM `segment_data`")
	require.NoError(t, err)
	require.Len(t, rows, written)
	byID := map[string]map[string]json.RawMessage{}
	for _, r := range rows {
		var id string
		require.NoError(t, json.Unmarshal(r["messageId"], &id))
		byID[id] = r
	}
	for _, c := range cases {
		if c.Expect.Status != 200 {
			continue
		}
		var want []json.RawMessage
		require.NoError(t, json.Unmarshal(c.Expect.Row, &want))
		var id string
		require.NoError(t, json.Unmarshal(want[0], &id))
		got, ok := byID[id]
		require.True(t, ok, "%s: row %q not found", c.Name, id)
		for j, col := range Columns {
			if c.Name == "values/big-integers" && (col == "traits" || col == "context") {
				continue // the embedded engine reads JSON numbers as float64
			}
			if col == "timestamp" {
				assert.Equal(t, string(want[j]), strings.Replace(string(got[col]), "T", " ", 1)[:len(want[j])], "%s: %s", c.Name, col)
				continue
			}
			assert.Empty(t, jsonValuesEqual(want[j], got[col]), "%s: column %s: want %s got %s", c.Name, col, want[j], got[col])
		}
	}

	// Segment delivers at least once: the same events again change nothing.
	again := w.Write(ctx, events(t, cases))
	for i, c := range cases {
		assert.Equal(t, c.Expect.Status, again.Results[i].Status, c.Name)
	}
	rows, err = client.QueryRows(ctx, "SELECT COUNT(*) AS n FROM `segment_data`")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(written), string(rows[0]["n"]))
}

func TestWriterReferenceSchemaAndBatching(t *testing.T) {
	em, err := emulator.New(emulator.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = em.Close() })
	var requests atomic.Int64
	client := newTestClient(t, countingHandler(em, &requests))
	w, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Table: "ref", Options: Options{Schema: SchemaReference, Mapping: json.RawMessage(`{"max_batch_size":4}`)}})
	require.NoError(t, err)
	assert.Equal(t, 4, w.BatchSize(), "the mapping's max_batch_size sets the batch size")
	ctx := context.Background()
	require.NoError(t, w.CreateTable(ctx))

	evs := make([][]byte, 10)
	for i := range evs {
		evs[i] = []byte(fmt.Sprintf(`{"type":"track","event":"E","messageId":"m%d","timestamp":"2025-07-07T10:19:25Z"}`, i))
	}
	before := requests.Load()
	ms := w.Write(ctx, evs)
	require.NoError(t, ms.Err())
	assert.Equal(t, int64(3), requests.Load()-before, "10 rows in requests of at most 4")
	require.NoError(t, w.Write(ctx, evs).Err())
	rows, err := client.QueryRows(ctx, "SELECT COUNT(*) AS n FROM `ref`")
	require.NoError(t, err)
	assert.Equal(t, "20", string(rows[0]["n"]), "the reference schema has no dedupe")

	// enable_batching false: Segment executes each event alone (Single
	// delivery), and so does Write, with one request per event.
	w1, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Table: "ref", Options: Options{Schema: SchemaReference, Mapping: json.RawMessage(`{"enable_batching":false}`)}})
	require.NoError(t, err)
	assert.Equal(t, 1, w1.BatchSize())
	before = requests.Load()
	single := w1.Write(ctx, [][]byte{evs[0], []byte(`{"type":"track","event":"","messageId":"e","timestamp":"2025-07-07T10:19:25Z"}`), evs[1]})
	assert.Equal(t, int64(2), requests.Load()-before, "one request per valid event")
	for _, i := range []int{0, 2} {
		assert.Equal(t, 200, single.Results[i].Status, single.Results[i].ErrorMessage)
		assert.JSONEq(t, `{"rowsAffected":1}`, string(single.Results[i].Body))
	}
	assert.Equal(t, 400, single.Results[1].Status)
	assert.Equal(t, `The root value is missing the required field 'event'. The root value must match "then" schema.`, single.Results[1].ErrorMessage,
		"Single delivery drops the empty top-level string, so the conditionally required event is missing")
	batched := w.Write(ctx, [][]byte{[]byte(`{"type":"track","event":"","messageId":"e","timestamp":"2025-07-07T10:19:25Z"}`)})
	assert.Equal(t, 200, batched.Results[0].Status, "Batched delivery keeps the empty string: %s", batched.Results[0].ErrorMessage)
}

// TestWriterIdentifiersAndValues checks that nothing in a table name or an
// event changes the SQL: backticks, quotes, semicolons and comments end up
// as data, in a table with exactly the name given.
func TestWriterIdentifiersAndValues(t *testing.T) {
	_, client := newEmulator(t, emulator.Config{})
	table := "seg`ment'; DROP TABLE x; -- \"q\""
	w, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Table: table})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, w.CreateTable(ctx))
	ev := `{"type":"track","event":"x'); DROP TABLE segment_data; --","messageId":"id` + "`" + `\"'","timestamp":"2025-07-07T10:19:25Z","properties":{"sql":"' OR 1=1 --","q":"?","bt":"` + "``" + `"}}`
	ms := w.Write(ctx, [][]byte{[]byte(ev)})
	require.NoError(t, ms.Err())
	rows, err := client.QueryRows(ctx, "SELECT `messageId`, `event`, `properties` FROM "+QuoteIdentifier(table))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, `"id`+"`"+`\"'"`, string(rows[0]["messageId"]))
	assert.Equal(t, `"x'); DROP TABLE segment_data; --"`, string(rows[0]["event"]))
	assert.JSONEq(t, `{"sql":"' OR 1=1 --","q":"?","bt":"`+"``"+`"}`, string(rows[0]["properties"]))

	_, err = NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Table: "a\x00b"})
	assert.ErrorIs(t, err, ErrInvalidIdentifier)
	_, err = NewWriter(NewExecutor(client), WriterConfig{Database: "db/x"})
	assert.ErrorIs(t, err, ErrInvalidIdentifier)
	_, err = NewWriter(NewExecutor(client), WriterConfig{Database: testDB, BatchSize: 1001})
	assert.ErrorContains(t, err, "batch size 1001")
	_, err = NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Options: Options{Subscription: `type = "x`}})
	assert.ErrorIs(t, err, destination.ErrInvalidSubscription)
}

func TestWriterTooLarge(t *testing.T) {
	_, client := newEmulator(t, emulator.Config{})
	w, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, MaxRequestBytes: 3000})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, w.CreateTable(ctx))
	big := `{"type":"track","event":"Big","messageId":"big","timestamp":"2025-07-07T10:19:25Z","properties":{"blob":"` + strings.Repeat("x", 4000) + `"}}`
	small := `{"type":"track","event":"Small","messageId":"small-%d","timestamp":"2025-07-07T10:19:25Z"}`
	ms := w.Write(ctx, [][]byte{[]byte(fmt.Sprintf(small, 1)), []byte(big), []byte(fmt.Sprintf(small, 2))})
	assert.Equal(t, 200, ms.Results[0].Status)
	assert.Equal(t, 413, ms.Results[1].Status)
	assert.Equal(t, "PAYLOAD_TOO_LARGE", ms.Results[1].ErrorType)
	assert.Contains(t, ms.Results[1].ErrorMessage, "over the 3000-byte limit")
	assert.False(t, ms.Results[1].Retryable())
	assert.Equal(t, 200, ms.Results[2].Status)

	// A server with a smaller limit than the packer's: the client splits
	// the request down to the row that does not fit, which fails alone.
	em, err := emulator.New(emulator.Config{MaxBodyBytes: 5000})
	require.NoError(t, err)
	t.Cleanup(func() { _ = em.Close() })
	client2 := newTestClient(t, em)
	w2, err := NewWriter(NewExecutor(client2), WriterConfig{Database: testDB})
	require.NoError(t, err)
	require.NoError(t, w2.CreateTable(ctx))
	mid := `{"type":"track","event":"Mid","messageId":"mid","timestamp":"2025-07-07T10:19:25Z","properties":{"blob":"` + strings.Repeat("y", 6000) + `"}}`
	ms = w2.Write(ctx, [][]byte{[]byte(fmt.Sprintf(small, 1)), []byte(mid), []byte(fmt.Sprintf(small, 2))})
	assert.Equal(t, 200, ms.Results[0].Status)
	assert.Equal(t, 413, ms.Results[1].Status, ms.Results[1].ErrorMessage)
	assert.NotEmpty(t, ms.Results[1].Sent)
	assert.Equal(t, 200, ms.Results[2].Status)
}

func TestWriterDataAPIErrors(t *testing.T) {
	ctx := context.Background()
	evs := [][]byte{
		[]byte(`{"type":"track","event":"E","messageId":"m1","timestamp":"2025-07-07T10:19:25Z"}`),
		[]byte(`{"type":"track","messageId":"m2","timestamp":"2025-07-07T10:19:25Z"}`),
	}

	// No table: a failure of the destination, not of the event: retryable
	// 503 matching ErrUnavailable; the invalid event keeps its own 400.
	_, client := newEmulator(t, emulator.Config{})
	w, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, Table: "missing"})
	require.NoError(t, err)
	ms := w.Write(ctx, evs)
	assert.Equal(t, 503, ms.Results[0].Status)
	assert.Contains(t, ms.Results[0].ErrorMessage, "Failed to insert data: the destination cannot take writes (400 Error 1146")
	assert.True(t, ms.Results[0].Retryable())
	assert.ErrorIs(t, ms.Results[0].Err, destination.ErrUnavailable)
	assert.ErrorIs(t, ms.Results[0].Err, dataapi.ErrMissingTable)
	assert.Equal(t, destination.ReporterDestination, ms.Results[0].ErrorReporter)
	assert.Equal(t, `The root value is missing the required field 'event'. The root value must match "then" schema.`, ms.Results[1].ErrorMessage)

	// A server that keeps failing: retryable, and the password never shows.
	var calls atomic.Int64
	failing := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "0")
		http.Error(w, "Error 2002 (HY000): busy", http.StatusServiceUnavailable)
	}))
	w, err = NewWriter(NewExecutor(failing), WriterConfig{Database: testDB})
	require.NoError(t, err)
	ms = w.Write(ctx, evs[:1])
	assert.Equal(t, 503, ms.Results[0].Status)
	assert.Equal(t, destination.TypeRetryableError, ms.Results[0].ErrorType)
	assert.True(t, ms.Results[0].Retryable())
	assert.Equal(t, int64(2), calls.Load(), "the client retried once")
	b, _ := json.Marshal(ms)
	assert.NotContains(t, string(b), "secret-pw")
	assert.NotContains(t, ms.Err().Error(), "secret-pw")

	// Nothing listening: the transport error is retryable.
	c, err := dataapi.New(dataapi.Config{Host: "127.0.0.1", Port: "1", Scheme: "http", User: "u", Password: "secret-pw", Database: testDB, MaxAttempts: 1})
	require.NoError(t, err)
	w, err = NewWriter(NewExecutor(c), WriterConfig{Database: testDB})
	require.NoError(t, err)
	ms = w.Write(ctx, evs[:1])
	assert.True(t, ms.Results[0].Retryable(), "%+v", ms.Results[0])
	assert.NotContains(t, ms.Results[0].ErrorMessage, "secret-pw")

	// A context that has ended: 408.
	_, client = newEmulator(t, emulator.Config{})
	w, err = NewWriter(NewExecutor(client), WriterConfig{Database: testDB})
	require.NoError(t, err)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ms = w.Write(cctx, evs[:1])
	assert.Equal(t, 408, ms.Results[0].Status)
	assert.True(t, ms.Results[0].Retryable())
}

func TestWriterConcurrency(t *testing.T) {
	em, err := emulator.New(emulator.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = em.Close() })
	var requests atomic.Int64
	client := newTestClient(t, countingHandler(em, &requests))
	w, err := NewWriter(NewExecutor(client), WriterConfig{Database: testDB, BatchSize: 5, Concurrency: 4})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, w.CreateTable(ctx))
	evs := make([][]byte, 50)
	for i := range evs {
		evs[i] = []byte(fmt.Sprintf(`{"type":"identify","userId":"u%d","messageId":"c%d","timestamp":%d}`, i, i, 1751883565665+i))
	}
	ms := w.Write(ctx, evs)
	require.NoError(t, ms.Err())
	rows, err := client.QueryRows(ctx, "SELECT COUNT(*) AS n FROM `segment_data`")
	require.NoError(t, err)
	assert.Equal(t, "50", string(rows[0]["n"]))
	assert.Equal(t, 0, len(w.Write(ctx, nil).Results))
}
