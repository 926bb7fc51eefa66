package singlestore

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/mapping"
)

// bodyLog is an Executor that keeps a copy of every body and writes every
// row.
type bodyLog struct {
	mu     sync.Mutex
	bodies [][]byte
	rows   []int
}

func (b *bodyLog) Exec(context.Context, string, ...any) (dataapi.ExecResult, error) {
	return dataapi.ExecResult{}, nil
}

func (b *bodyLog) ExecBatch(_ context.Context, req *batch.Request) dataapi.BatchResult {
	b.mu.Lock()
	b.bodies = append(b.bodies, bytes.Clone(req.Body())) // bodies are reused once answered
	b.rows = append(b.rows, req.Len())
	b.mu.Unlock()
	return dataapi.BatchResult{Errs: make([]error, req.Len()), RowsAffected: int64(req.Len()), Requests: 1}
}

func streamEvent(i int) []byte {
	return []byte(fmt.Sprintf(`{"type":"track","event":"E","messageId":"s-%d","timestamp":"2025-07-07T10:19:25Z","userId":"u","properties":{"i":%d}}`, i, i))
}

// TestStreamCutsRequestsOnlyWhenFull writes chunks of 7 events to a stream
// whose requests hold 10 rows: requests go on across chunks, every
// result matches Writer.Write's, and a rejected event fails alone.
func TestStreamCutsRequestsOnlyWhenFull(t *testing.T) {
	log := &bodyLog{}
	w, err := NewWriter(log, WriterConfig{Database: "d", BatchSize: 10})
	require.NoError(t, err)
	s := w.Stream(context.Background(), StreamConfig{Concurrency: 1, MaxOpen: 3})
	var pend []*Pending
	var chunks [][][]byte
	for c := range 10 {
		var evs [][]byte
		for i := range 7 {
			evs = append(evs, streamEvent(7*c+i))
		}
		if c == 4 {
			evs[2] = []byte(`{"type":"track","messageId":"bad"}`) // no event, no timestamp
		}
		var scanned []mapping.Event
		if c%2 == 0 { // half the chunks come checked already
			for _, ev := range evs {
				e, err := mapping.ParseEvent(ev, nil)
				require.NoError(t, err)
				scanned = append(scanned, e)
			}
		}
		chunks = append(chunks, evs)
		pend = append(pend, s.Write(s.Ticket(), evs, scanned))
	}
	s.Close()
	assert.Equal(t, []int{10, 10, 10, 10, 10, 10, 9}, log.rows, "69 rows, in full requests but the last")

	ref, err := NewWriter(&bodyLog{}, WriterConfig{Database: "d", BatchSize: 10})
	require.NoError(t, err)
	for c, p := range pend {
		ms := p.Wait()
		want := ref.Write(context.Background(), chunks[c])
		require.Len(t, ms.Results, len(want.Results))
		for i := range want.Results {
			assert.Equal(t, want.Results[i].Status, ms.Results[i].Status, "chunk %d event %d", c, i)
			assert.Equal(t, string(want.Results[i].Sent), string(ms.Results[i].Sent))
			assert.Equal(t, want.Results[i].ErrorMessage, ms.Results[i].ErrorMessage)
		}
	}
	// Rows come in input order.
	all := bytes.Join(log.bodies, nil)
	last := -1
	for i := range 70 {
		at := bytes.Index(all, []byte(fmt.Sprintf(`"s-%d"`, i)))
		if i == 30 {
			assert.Equal(t, -1, at, "the rejected event is in no request")
			continue
		}
		require.Greater(t, at, last, "row %d", i)
		last = at
	}
}

// TestStreamSendsAnOpenRequestAfterMaxOpenCalls checks that a request is
// not held open for ever when later calls bring too few rows to fill it.
func TestStreamSendsAnOpenRequestAfterMaxOpenCalls(t *testing.T) {
	log := &bodyLog{}
	w, err := NewWriter(log, WriterConfig{Database: "d", BatchSize: 100})
	require.NoError(t, err)
	s := w.Stream(context.Background(), StreamConfig{Concurrency: 1, MaxOpen: 2})
	first := s.Write(s.Ticket(), [][]byte{streamEvent(0)}, nil)
	s.Write(s.Ticket(), nil, nil)
	s.Write(s.Ticket(), nil, nil) // two further calls: the request goes
	ms := first.Wait()
	assert.True(t, ms.Results[0].OK())
	s.Close()
	assert.Equal(t, []int{1}, log.rows)
	after := s.Write(s.Ticket(), [][]byte{streamEvent(1)}, nil).Wait()
	assert.ErrorIs(t, after.Results[0].Err, ErrStreamClosed)
}

// TestStreamTurnsFollowTickets has several goroutines write chunks in any
// order: rows still reach the requests in ticket order.
func TestStreamTurnsFollowTickets(t *testing.T) {
	log := &bodyLog{}
	w, err := NewWriter(log, WriterConfig{Database: "d", BatchSize: 5})
	require.NoError(t, err)
	s := w.Stream(context.Background(), StreamConfig{Concurrency: 1, MaxOpen: 8})
	tickets := make([]int, 8)
	for i := range tickets {
		tickets[i] = s.Ticket()
	}
	var wg sync.WaitGroup
	for k := len(tickets) - 1; k >= 0; k-- {
		wg.Go(func() {
			s.Write(tickets[k], [][]byte{streamEvent(3 * k), streamEvent(3*k + 1), streamEvent(3*k + 2)}, nil)
		})
	}
	wg.Wait()
	s.Close()
	all := bytes.Join(log.bodies, nil)
	last := -1
	for i := range 24 {
		at := bytes.Index(all, []byte(fmt.Sprintf(`"s-%d"`, i)))
		require.Greater(t, at, last, "row %d", i)
		last = at
	}
	assert.Equal(t, []int{5, 5, 5, 5, 4}, log.rows)
}
