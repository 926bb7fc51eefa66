package replay

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/s2segment/s2segment/mapping"
)

// Writer writes a batch of raw events and returns one result per event, in
// order (*singlestore.Writer is one). It must be safe for concurrent use
// when Config.Workers is above 1.
type Writer interface {
	Write(ctx context.Context, events [][]byte) *destination.MultiStatus
}

// StreamWriter is a Writer that can also pack the events of successive
// calls into shared requests (*singlestore.Writer is one). Run uses the
// stream when the Writer has one, so that requests are cut only when full
// and not at the end of each chunk.
type StreamWriter interface {
	Writer
	Stream(ctx context.Context, cfg singlestore.StreamConfig) *singlestore.Stream
}

// Source delivers events one at a time (*eventsource.Reader is one): an
// *eventsource.Error for a value or file it could not read, after which it
// goes on, io.EOF at the end, and the context's error once it is done.
type Source interface {
	Next() (eventsource.Event, error)
}

// Defaults of a Config.
const (
	DefaultChunkEvents = 800
	DefaultChunkBytes  = 4 << 20
)

// Config configures a run. Writer is required; the zero value of every
// other field means its default.
type Config struct {
	// Writer writes the events.
	Writer Writer
	// Workers is the number of Write calls running at once; 0 means 1.
	Workers int
	// ChunkEvents and ChunkBytes bound the events of one Write call:
	// a chunk is handed over when it holds ChunkEvents events or its
	// events add up to ChunkBytes bytes (DefaultChunkEvents,
	// DefaultChunkBytes). A few requests' worth keeps requests full.
	ChunkEvents int
	ChunkBytes  int
	// Report, when set, receives one JSON line per event and per read
	// error, in input order (see Run).
	Report io.Writer
	// Progress, when set, is called after each chunk with the counts so far,
	// from one goroutine at a time.
	Progress func(Progress)
	// Transport, when set, is read at the end for Summary.Transport and
	// with every Progress call.
	Transport func() Transport
	// MaxReasons bounds the distinct failure reasons kept of each kind
	// (DefaultMaxReasons); further ones are only counted.
	MaxReasons int
}

// Progress is a snapshot of a running replay.
type Progress struct {
	Events   int64 // events read and accounted for
	Written  int64
	Filtered int64
	Failures int64 // events rejected or failed, plus read errors
	Elapsed  time.Duration
}

// String describes the progress on one line:
// "56,200 events, 29,613 events/s, 3 failed".
func (p Progress) String() string {
	s := groupDigits(p.Events) + " events"
	if secs := p.Elapsed.Seconds(); secs >= 0.5 {
		s += ", " + groupDigits(int64(float64(p.Events)/secs)) + " events/s"
	}
	if p.Failures > 0 {
		s += ", " + groupDigits(p.Failures) + " failed"
	}
	return s
}

// item is one event, or one read error, in input order.
type item struct {
	ev  eventsource.Event // Data is nil for a read error
	err *eventsource.Error
}

// chunk is the unit of work: the events of one Write call and the read
// errors found among them.
type chunk struct {
	items   []item
	events  [][]byte
	checked []mapping.Event // the events as the source checked them
	bytes   int
	ticket  int // its turn in the stream, when there is one
	ms      *destination.MultiStatus
	done    chan struct{}
}

// Run reads src to its end, writes its events in chunks with cfg.Writer and
// returns the summary. It stops early when ctx is done (Summary.Interrupted);
// chunks already handed over are still accounted for, with the results the
// Writer gives them.
//
// With cfg.Report set, each event and each read error gets one line there,
// in input order:
//
//	{"source":"a.ndjson","line":3,"index":2,"messageId":"m-3","type":"track","status":"written"}
//	{"source":"a.ndjson","line":4,"index":3,"messageId":"m-4","type":"track","status":"rejected","code":400,"error":"…"}
//	{"source":"a.ndjson","line":5,"index":4,"offset":731,"status":"read_error","error":"a.ndjson: line 5 (byte 731): …"}
//
// line and index are absent for a problem with a whole file; messageId and
// type when the event has none.
//
// The error is nil unless the report could not be written or src failed in
// a way it does not describe as an *eventsource.Error; the summary is valid
// either way.
func Run(ctx context.Context, cfg Config, src Source) (*Summary, error) {
	if cfg.Writer == nil {
		return nil, errors.New("replay: Config.Writer is nil")
	}
	workers := max(cfg.Workers, 1)
	chunkEvents := cfg.ChunkEvents
	if chunkEvents <= 0 {
		chunkEvents = DefaultChunkEvents
	}
	chunkBytes := cfg.ChunkBytes
	if chunkBytes <= 0 {
		chunkBytes = DefaultChunkBytes
	}

	start := time.Now()
	sum := newSummary(cfg.MaxReasons)
	col := &collector{sum: sum, start: start, cfg: cfg}
	if cfg.Report != nil {
		col.report = bufio.NewWriterSize(cfg.Report, 64<<10)
	}

	work := make(chan *chunk)
	ordered := make(chan *chunk, workers)
	free := make(chan *chunk, 2*workers+2)
	var wg sync.WaitGroup
	// With a stream, the chunks' rows share requests: a chunk's last
	// request goes on with the next chunk's rows, and only the run's last
	// request may be short. A request may stay open across as many chunks
	// as can be in flight behind the one the collector waits for.
	var stream *singlestore.Stream
	if sw, ok := cfg.Writer.(StreamWriter); ok {
		stream = sw.Stream(ctx, singlestore.StreamConfig{Concurrency: workers, MaxOpen: workers})
	}
	for range workers {
		wg.Go(func() {
			for c := range work {
				if stream == nil {
					c.ms = cfg.Writer.Write(ctx, c.events)
					close(c.done)
					continue
				}
				p := stream.Write(c.ticket, c.events, c.checked)
				go func() {
					c.ms = p.Wait()
					close(c.done)
				}()
			}
		})
	}
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for c := range ordered {
			<-c.done
			col.take(c)
			select {
			case free <- c:
			default:
			}
		}
	}()

	newChunk := func() *chunk {
		var c *chunk
		select {
		case c = <-free:
			clear(c.items) // drop the previous events' memory
			clear(c.events)
			clear(c.checked)
			c.items, c.events, c.checked, c.bytes, c.ms = c.items[:0], c.events[:0], c.checked[:0], 0, nil
		default:
			c = &chunk{items: make([]item, 0, chunkEvents), events: make([][]byte, 0, chunkEvents),
				checked: make([]mapping.Event, 0, chunkEvents)}
		}
		c.done = make(chan struct{})
		return c
	}
	dispatch := func(c *chunk) {
		ordered <- c
		if stream != nil {
			c.ticket = stream.Ticket() // every chunk takes its turn, events or not
		} else if len(c.events) == 0 {
			close(c.done)
			return
		}
		work <- c
	}

	var srcErr error
	cur := newChunk()
	for {
		ev, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *eventsource.Error
			if errors.As(err, &re) {
				cur.items = append(cur.items, item{err: re})
				continue
			}
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				sum.Interrupted = true
			} else {
				srcErr = fmt.Errorf("reading events: %w", err)
			}
			break
		}
		cur.items = append(cur.items, item{ev: ev})
		cur.events = append(cur.events, ev.Data)
		cur.checked = append(cur.checked, ev.Checked())
		cur.bytes += len(ev.Data)
		if len(cur.events) >= chunkEvents || cur.bytes >= chunkBytes {
			dispatch(cur)
			cur = newChunk()
		}
	}
	if len(cur.items) > 0 {
		dispatch(cur)
	}
	close(work)
	close(ordered)
	wg.Wait()
	if stream != nil {
		stream.Close() // sends the last request
	}
	<-collected

	if ctx.Err() != nil {
		sum.Interrupted = true
	}
	sum.Duration = time.Since(start)
	if cfg.Transport != nil {
		sum.Transport = cfg.Transport()
	}
	if col.report != nil && col.reportErr == nil {
		if err := col.report.Flush(); err != nil {
			col.reportErr = err
		}
	}
	var reportErr error
	if col.reportErr != nil {
		reportErr = fmt.Errorf("writing the report: %w", col.reportErr)
	}
	return sum, errors.Join(srcErr, reportErr)
}

// collector takes the chunks back in input order, counts and reports.
type collector struct {
	cfg       Config
	sum       *Summary
	start     time.Time
	report    *bufio.Writer
	reportErr error
	line      []byte
}

func (c *collector) take(ch *chunk) {
	k := 0
	for i := range ch.items {
		it := &ch.items[i]
		if it.err != nil {
			text := readReason(it.err)
			c.sum.add(ReadError, text, it.err.Error)
			c.writeReport(it, ReadError, nil)
			continue
		}
		r := &ch.ms.Results[k]
		k++
		kind := classify(r)
		switch kind {
		case Written:
			c.sum.Types[rowType(r.Sent)]++
			c.sum.add(Written, "", nil)
		case Filtered:
			c.sum.add(Filtered, "", nil)
		default:
			c.sum.add(kind, r.ErrorMessage, func() string { return where(it.ev) })
		}
		c.writeReport(it, kind, r)
	}
	if c.cfg.Progress != nil {
		s := c.sum
		c.cfg.Progress(Progress{
			Events: s.Events, Written: s.Written, Filtered: s.Filtered,
			Failures: s.Problems(), Elapsed: time.Since(c.start),
		})
	}
}

// classify tells what became of an event from its result.
func classify(r *destination.Result) Kind {
	switch {
	case r.OK():
		return Written
	case errors.Is(r.Err, destination.ErrNoMatch):
		return Filtered
	case r.ErrorReporter == destination.ReporterDestination || len(r.Sent) > 0:
		return Failed
	}
	return Rejected
}

// rowType is the type column of a written row, from the payload sent. The
// few distinct values are interned by the Summary's map.
func rowType(payload []byte) string {
	return gjson.GetBytes(payload, "type").String()
}

// readReason names the kind of a read error, for counting.
func readReason(err error) string {
	switch {
	case errors.Is(err, eventsource.ErrMalformed):
		return "malformed JSON"
	case errors.Is(err, eventsource.ErrNotObject):
		return "not a JSON object"
	case errors.Is(err, eventsource.ErrTooLarge):
		return "event too large"
	case errors.Is(err, eventsource.ErrInvalidUTF8):
		return "invalid UTF-8"
	case errors.Is(err, eventsource.ErrTruncated):
		return "truncated input"
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return "unreadable input"
}

// where locates an event for people: "events.ndjson line 7 (messageId m-7)".
func where(ev eventsource.Event) string {
	s := ev.Source + " line " + strconv.Itoa(ev.Line)
	if ev.Format != eventsource.FormatStream {
		s += " " + ev.Format.String() + " item " + strconv.Itoa(ev.Index)
	}
	if id := gjson.GetBytes(ev.Data, "messageId"); id.Exists() {
		s += " (messageId " + clip(id.String(), 60) + ")"
	}
	return s
}
