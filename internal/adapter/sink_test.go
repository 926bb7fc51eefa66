package adapter

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
)

func newTestSink(t *testing.T, d *testDB, conn Connection, table string, reportSent bool) *Sink {
	t.Helper()
	c, err := conn.NewClient(d.settings(table))
	require.NoError(t, err)
	s, err := NewSink(singlestore.NewExecutor(c), SinkConfig{
		WriterConfig: singlestore.WriterConfig{Database: d.database, Table: table},
		ReportSent:   reportSent,
	})
	require.NoError(t, err)
	return s
}

func TestSinkWritesAndReportsEachEvent(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := startEmulator(t, b, emulator.Faults{})
			d.createTable(t, "events", singlestore.SchemaDedupe)
			sink := newTestSink(t, d, httpConn(), "events", true)

			events := [][]byte{
				track("m-1"),
				[]byte(`{"type":"track","messageId":"m-2","timestamp":"2025-07-07T10:19:25Z","userId":"u"}`), // no event
				[]byte(`{"type":"identify","messageId":"m-3","timestamp":"2025-07-07T10:19:25Z","userId":"u","traits":{"plan":"pro"}}`),
				[]byte(`{"type":"delete","messageId":"m-4","timestamp":"2025-07-07T10:19:25Z"}`),                    // not subscribed
				[]byte(`{"type":"page","messageId":"m-5","timestamp":"yesterday","name":"Home","anonymousId":"a"}`), // bad timestamp
				[]byte(`{"type":"track","event":"Big","messageId":"m-6","timestamp":"2025-07-07T10:19:25Z","userId":"u","properties":{"blob":"` + strings.Repeat("x", 1_100_000) + `"}}`),
			}
			res := sink.Write(context.Background(), events)
			require.Len(t, res, len(events))

			assert.Equal(t, 200, res[0].Status)
			assert.JSONEq(t, `{"rowsAffected":2}`, string(res[0].Body), "m-1 and m-3 went in one request")
			assert.Equal(t, "m-1", gjson.GetBytes(res[0].Sent, "messageid").String())
			assert.Equal(t, endpoint.Result{Status: 400, ErrorType: "PAYLOAD_VALIDATION_FAILED",
				Message: `The root value is missing the required field 'event'. The root value must match "then" schema.`}, res[1])
			assert.Equal(t, 200, res[2].Status)
			assert.Equal(t, 400, res[3].Status)
			assert.Equal(t, "Payload is either invalid or does not match the subscription", res[3].Message)
			assert.Equal(t, 400, res[4].Status)
			assert.Contains(t, res[4].Message, "Timestamp")
			assert.Equal(t, 413, res[5].Status)
			for i, r := range res {
				assert.False(t, r.Retryable, "event %d", i)
				assert.True(t, r.Final(), "event %d", i)
			}

			assert.Equal(t, map[string]int{"m-1": 1, "m-3": 1}, d.counts(t, "events"))
			assert.Equal(t, SinkStats{Written: 2, Rejected: 4}, sink.Stats())
		})
	}
}

func TestSinkRetriesNeverDuplicate(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := startEmulator(t, b, emulator.Faults{})
			d.createTable(t, "events", singlestore.SchemaDedupe)
			sink := newTestSink(t, d, httpConn(), "events", false)
			var events [][]byte
			want := map[string]int{}
			for i := range 30 {
				id := fmt.Sprintf("dup-%02d", i)
				events = append(events, track(id))
				want[id] = 1
			}
			for range 3 { // the same batch, redelivered
				for i, r := range sink.Write(context.Background(), events) {
					require.Equal(t, 200, r.Status, "event %d: %s", i, r.Message)
					assert.Nil(t, r.Sent, "ReportSent is off")
				}
			}
			assert.Equal(t, want, d.counts(t, "events"))
		})
	}
}

func TestSinkReportsRetryableFailures(t *testing.T) {
	d := startEmulator(t, backend{name: "embedded"}, emulator.Faults{FailRate: 1, FailStatus: 503})
	conn := httpConn()
	conn.MaxAttempts = 1
	sink := newTestSink(t, d, conn, "events", false)
	res := sink.Write(context.Background(), [][]byte{track("r-1"), []byte(`{"type":"track","messageId":"r-2","timestamp":"2025-07-07T10:19:25Z","userId":"u"}`)})
	require.Len(t, res, 2)
	assert.Equal(t, 503, res[0].Status)
	assert.True(t, res[0].Retryable)
	assert.Equal(t, "RETRYABLE_ERROR", res[0].ErrorType)
	assert.Contains(t, res[0].Message, "Failed to insert data")
	assert.NotContains(t, res[0].Message, testPassword)
	assert.Equal(t, 400, res[1].Status, "an invalid event fails for good whatever the database says")
	assert.False(t, res[1].Retryable)
	assert.Equal(t, SinkStats{Rejected: 1, Failed: 1}, sink.Stats())
}

func TestSinkTimeoutIsRetryable(t *testing.T) {
	d := startEmulator(t, backend{name: "embedded"}, emulator.Faults{})
	sink := newTestSink(t, d, httpConn(), "events", false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := sink.Write(ctx, [][]byte{track("t-1")})
	require.Len(t, res, 1)
	assert.False(t, res[0].OK())
	assert.True(t, res[0].Retryable, "%+v", res[0])
}

func TestSinkRefusesBadConfiguration(t *testing.T) {
	c, err := dataapi.New(dataapi.Config{Host: "127.0.0.1", Scheme: "http"})
	require.NoError(t, err)
	exec := singlestore.NewExecutor(c)
	for name, cfg := range map[string]singlestore.WriterConfig{
		"mapping":      {Database: "db", Options: singlestore.Options{Mapping: []byte(`{"event":{"@oops":1}}`)}},
		"subscription": {Database: "db", Options: singlestore.Options{Subscription: `type = "track" and (`}},
		"database":     {Database: "a/b"},
	} {
		_, err := NewSink(exec, SinkConfig{WriterConfig: cfg})
		assert.Error(t, err, name)
	}
}
