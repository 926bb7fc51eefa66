package bench

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPipelineCountsRequestsAndFill(t *testing.T) {
	rep, err := Run(t.Context(), Config{Events: 1000, Generator: Generator{Seed: 2}, Concurrency: 1})
	require.NoError(t, err)
	assert.Equal(t, 1000, rep.Events)
	assert.Equal(t, 1000, rep.OK)
	assert.EqualValues(t, 10, rep.Requests, "100 rows of ~3 KB per 1 MB request")
	require.NotNil(t, rep.Fill)
	assert.InDelta(t, float64(rep.RequestBytes)/float64(rep.Requests)/1e6, *rep.Fill, 0.001)
	assert.Equal(t, 1000, rep.Latency.Count)
	assert.Less(t, rep.AllocsPerEvent, 5.0, "the pipeline allocates almost nothing per event")
}

// TestPipelineKeepsTheByteCap packs medium events into 20 KB requests: the
// byte cap, not the row count, closes each request.
func TestPipelineKeepsTheByteCap(t *testing.T) {
	rep, err := Run(t.Context(), Config{Events: 300, MaxRequestBytes: 20_000, Concurrency: 2})
	require.NoError(t, err)
	assert.Equal(t, 300, rep.OK)
	require.NotNil(t, rep.Fill)
	assert.LessOrEqual(t, *rep.Fill, 1.0)
	assert.Greater(t, *rep.Fill, 0.6, "requests are packed close to the cap")
	assert.GreaterOrEqual(t, rep.Requests, rep.RequestBytes/20_000)
	assert.GreaterOrEqual(t, rep.Requests, int64(300/8), "at most eight rows of 2.5 KB or more fit in 20 KB")
}

// TestReplayToDataAPIWithFaults writes to a Data API given by config (an
// emulator failing a fifth of requests with 500): the client's retries are
// counted, every event is written once, and the rows are there.
func TestReplayToDataAPIWithFaults(t *testing.T) {
	emu, err := emulator.Listen(t.Context(), emulator.Config{Faults: emulator.Faults{FailRate: 0.2, FailStatus: http.StatusInternalServerError, Seed: 3}})
	require.NoError(t, err)
	defer emu.Close()
	dc := dataapi.Config{
		Host: emu.Host(), Port: emu.Port(), Scheme: "http", User: "root", Database: emulator.DefaultDatabase,
		MaxAttempts: 12, BackoffBase: time.Millisecond, BackoffMax: 5 * time.Millisecond,
	}
	rep, err := Run(t.Context(), Config{
		Stage: StageReplay, Events: 400, BatchSize: 20, Generator: Generator{Seed: 4, Size: SizeSmall},
		DataAPI: &dc, Table: "bench_faults",
	})
	require.NoError(t, err)
	assert.Equal(t, 400, rep.OK, "failures: %v", rep.Failures)
	assert.Positive(t, rep.Retries)
	require.NotNil(t, rep.DataAPI)
	assert.EqualValues(t, 20, rep.DataAPI.Batches)
	assert.Equal(t, rep.DataAPI.Batches+rep.DataAPI.Retries, rep.DataAPI.Requests)
	assert.Contains(t, rep.Target, emu.URL()+" database s2segment")

	c, err := dataapi.New(dataapi.Config{Host: emu.Host(), Port: emu.Port(), Scheme: "http", User: "root", Database: emulator.DefaultDatabase, MaxAttempts: 12, BackoffBase: time.Millisecond})
	require.NoError(t, err)
	rows, err := c.QueryRows(context.Background(), "SELECT COUNT(*) AS n, COUNT(DISTINCT messageId) AS d FROM bench_faults")
	require.NoError(t, err)
	assert.JSONEq(t, `400`, string(rows[0]["n"]))
	assert.JSONEq(t, `400`, string(rows[0]["d"]))
}

// TestDurationCapsTheRun stops taking events once the duration is over;
// the report counts what was driven.
func TestDurationCapsTheRun(t *testing.T) {
	rep, err := Run(t.Context(), Config{Stage: StageReplay, Events: 20_000, Generator: Generator{Size: SizeSmall}, Duration: 30 * time.Millisecond, BatchSize: 10, Concurrency: 1})
	require.NoError(t, err)
	assert.Less(t, rep.Events, 20_000)
	assert.Equal(t, rep.Events, rep.OK+rep.Failed)
	assert.EqualValues(t, rep.Events, rep.DataAPI.Batches*10)
}

// TestServeSinkReportsRejections checks the in-process endpoint's sink: a
// written event is 200, an invalid one a final 400 that is counted.
func TestServeSinkReportsRejections(t *testing.T) {
	emu, err := emulator.Listen(t.Context(), emulator.Config{})
	require.NoError(t, err)
	defer emu.Close()
	c, err := dataapi.New(dataapi.Config{Host: emu.Host(), Port: emu.Port(), Scheme: "http", User: "root", Database: emulator.DefaultDatabase})
	require.NoError(t, err)
	cfg := &Config{BatchSize: 10, MaxRequestBytes: 1_000_000}
	as, err := newSink(t.Context(), cfg, singlestore.NewExecutor(c), emulator.DefaultDatabase, "sink_t", 10)
	require.NoError(t, err)
	s := &benchSink{Sink: as}
	res := s.Write(t.Context(), [][]byte{Generator{}.Event(0), []byte(`{"type":"track","messageId":"m"}`)})
	require.Len(t, res, 2)
	assert.Equal(t, 200, res[0].Status)
	assert.Equal(t, 400, res[1].Status)
	assert.False(t, res[1].Retryable)
	assert.Equal(t, map[string]int{"400 PAYLOAD_VALIDATION_FAILED": 1}, s.rejected.snapshot())

	// A dropped table: the adapter's retryable 503, which is not a rejection.
	_, err = c.Exec(t.Context(), "DROP TABLE `sink_t`")
	require.NoError(t, err)
	res = s.Write(t.Context(), [][]byte{Generator{}.Event(1)})
	require.Len(t, res, 1)
	assert.Equal(t, 503, res[0].Status, "%+v", res[0])
	assert.True(t, res[0].Retryable)
	assert.Equal(t, map[string]int{"400 PAYLOAD_VALIDATION_FAILED": 1}, s.rejected.snapshot())
}

func TestLatencySummary(t *testing.T) {
	var r recorder
	for i := 100; i >= 1; i-- {
		r.add(time.Duration(i) * time.Millisecond)
	}
	l := r.summary("request")
	assert.Equal(t, Latency{Unit: "request", Count: 100, Mean: 50.5, P50: 50, P90: 90, P99: 99, Max: 100}, l)
	var empty recorder
	assert.Equal(t, Latency{Unit: "event"}, empty.summary("event"))
}

func TestPeakRSS(t *testing.T) {
	n, ok := peakRSS()
	if !ok {
		t.Skip("no /proc/self/status on this system")
	}
	assert.Greater(t, n, int64(1<<20), "a Go test process holds more than 1 MB")
}
