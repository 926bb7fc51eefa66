package bench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"sync"
	"time"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// pipelineChunk is how many events a pipeline worker takes at once.
const pipelineChunk = 256

// packing returns the batch.Config of the stage's requests: the INSERT of
// the writer for the table and schema.
func packing(c *Config, database string) (batch.Config, error) {
	prefix, suffix, err := singlestore.InsertSQL(c.Table, c.Schema)
	if err != nil {
		return batch.Config{}, err
	}
	return batch.Config{
		Prefix: prefix, Suffix: suffix, Columns: len(singlestore.Columns), Database: database,
		MaxRows: c.BatchSize, MaxBytes: c.MaxRequestBytes,
	}, nil
}

// requestTally sums the requests a packer completes.
type requestTally struct {
	requests, bytes int64
	rows            int
	fillSum         float64
}

func (t *requestTally) add(r *batch.Request, maxBytes int) {
	if r == nil {
		return
	}
	t.requests++
	t.bytes += int64(len(r.Body()))
	t.rows += r.Len()
	t.fillSum += float64(len(r.Body())) / float64(maxBytes)
}

func (t *requestTally) merge(o requestTally) {
	t.requests += o.requests
	t.bytes += o.bytes
	t.rows += o.rows
	t.fillSum += o.fillSum
}

// runPipeline drives the events through the Send Data action, the row
// encoding and the packer, with one packer per worker and no network.
func runPipeline(ctx context.Context, c *Config, events [][]byte) (*stageResult, error) {
	enc, err := singlestore.NewEncoder(singlestore.Options{Schema: c.Schema})
	if err != nil {
		return nil, fmt.Errorf("compiling the Send Data action: %w", err)
	}
	pc, err := packing(c, "s2segment")
	if err != nil {
		return nil, fmt.Errorf("building the insert: %w", err)
	}
	if _, err := batch.New(pc); err != nil {
		return nil, fmt.Errorf("configuring the packer: %w", err)
	}
	var (
		fails failureSet
		lat   recorder
		mu    sync.Mutex
		total requestTally
	)
	feed := newFeeder(len(events), pipelineChunk, c.Duration)
	m := feed.drive(ctx, c.Concurrency, c.ServerPID, func(chunks iter.Seq2[int, int]) {
		packer, _ := batch.New(pc) // checked above
		var (
			buf, row []byte
			p        destination.Payload
			tally    requestTally
			samples  = make([]time.Duration, 0, pipelineChunk)
		)
		for from, to := range chunks {
			for i := from; i < to; i++ {
				t0 := time.Now()
				var err error
				// Process checks the event (the edge's one scan) and
				// runs the action on what the check found.
				buf, err = enc.Process(buf[:0], events[i], &p)
				if err == nil {
					var full *batch.Request
					row, full, err = enc.Pack(packer, row, &p, i)
					tally.add(full, pc.MaxBytes)
					full.Release() // counted; the next request reuses its memory
				}
				samples = append(samples, time.Since(t0))
				if err != nil {
					fails.add(pipelineReason(err), 1)
				}
			}
			lat.addAll(samples)
			samples = samples[:0]
		}
		last := packer.Flush()
		tally.add(last, pc.MaxBytes)
		last.Release()
		mu.Lock()
		total.merge(tally)
		mu.Unlock()
	})
	n := feed.driven()
	res := &stageResult{
		target: "none (in process, no network)", driven: n, eventBytes: sumBytes(events, n),
		ok: total.rows, failures: fails.snapshot(),
		requests: total.requests, requestBytes: total.bytes,
		latency: lat.summary("event"), clock: m,
	}
	if total.requests > 0 {
		f := round3(total.fillSum / float64(total.requests))
		res.fill = &f
	}
	return res, nil
}

// pipelineReason names the failure of an event in the pipeline stage as the
// Writer would report it.
func pipelineReason(err error) string {
	var re *batch.RowError
	if errors.As(err, &re) {
		if errors.Is(err, batch.ErrRowTooLarge) {
			return reasonOf(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		}
		return reasonOf(http.StatusBadRequest, destination.TypePayloadValidationFailed)
	}
	r := destination.ResultOf(err)
	typ := r.ErrorType
	if typ == "" {
		typ = destination.ErrorTypeFor(r.Status)
	}
	return reasonOf(r.Status, typ)
}
