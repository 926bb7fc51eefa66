package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/s2segment/s2segment/batch"
	"github.com/tidwall/gjson"
)

// Names of the baselines.
const (
	BaselineEncodingJSON = "encoding/json pipeline"
	BaselineGJSONValid   = "gjson.ValidBytes pass"
	BaselinePipeline     = "pipeline stage"
	BaselineOnePerEvent  = "serve, one Data API request per event"
)

// runBaselines runs the baselines of c.Stage over the events the stage
// drove, and compares.
func runBaselines(ctx context.Context, c *Config, events [][]byte, res *stageResult) ([]Baseline, error) {
	events = events[:res.driven]
	stageRate := rate(res.driven, res.clock.wall)
	var out []Baseline
	add := func(name string, r *stageResult) {
		b := Baseline{Name: name, Events: r.driven, Seconds: round3(r.clock.wall.Seconds())}
		if secs := r.clock.wall.Seconds(); secs > 0 {
			b.EventsPerS = round3(float64(r.driven) / secs)
			b.MBPerS = round3(float64(r.eventBytes) / 1e6 / secs)
		}
		if r.driven > 0 {
			b.AllocsPerEvent = round3(float64(r.clock.mem.objects) / float64(r.driven))
		}
		b.CPUSeconds, b.ServerCPUSeconds = r.clock.cpuSeconds()
		if br := rate(r.driven, r.clock.wall); br > 0 {
			b.Ratio = round3(stageRate / br)
		}
		out = append(out, b)
	}
	base := *c
	base.Duration = 0
	base.Logf = nil
	switch c.Stage {
	case StagePipeline:
		r, err := runJSONPipeline(ctx, &base, events)
		if err != nil {
			return nil, err
		}
		add(BaselineEncodingJSON, r)
		add(BaselineGJSONValid, runValidPass(ctx, &base, events))
	case StageReplay:
		base.Stage = StagePipeline
		r, err := runPipeline(ctx, &base, events)
		if err != nil {
			return nil, err
		}
		add(BaselinePipeline, r)
		c.logf("baseline: posting pre-built bodies with a bare HTTP client")
		if r, err = runFloor(ctx, &base, events); err != nil {
			return nil, err
		}
		add(BaselineFloor, r)
	case StageServe:
		c.logf("baseline: one Data API request per event, group commit off")
		table := c.Table
		if c.DataAPI != nil {
			table = baselineTable(c.Table)
		}
		r, err := runServe(ctx, &base, events, serveOptions{table: table, onePerEvent: true})
		if err != nil {
			return nil, err
		}
		add(BaselineOnePerEvent, r)
		if c.URL == "" {
			c.logf("baseline: posting pre-built bodies with a bare HTTP client")
			if r, err = runFloor(ctx, &base, events); err != nil {
				return nil, err
			}
			add(BaselineFloor, r)
		}
	}
	return out, nil
}

// baselineTable names the table of the serve baseline on a real Data API,
// so it does not find the stage's rows already there.
func baselineTable(t string) string {
	const suffix = "_baseline"
	if len(t)+len(suffix) > 256 {
		t = t[:256-len(suffix)]
	}
	return t + suffix
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// pass runs per-event work over the events with c.Concurrency workers and
// measures it. newWorker returns one worker's per-event function and its
// flush, called once the worker has no more events.
func pass(ctx context.Context, c *Config, events [][]byte, newWorker func() (each func(i int) error, flush func())) (*stageResult, *failureSet) {
	fails := &failureSet{}
	feed := newFeeder(len(events), pipelineChunk, 0)
	m := feed.drive(ctx, c.Concurrency, c.ServerPID, func(chunks iter.Seq2[int, int]) {
		each, flush := newWorker()
		for from, to := range chunks {
			for i := from; i < to; i++ {
				if err := each(i); err != nil {
					fails.add("rejected", 1)
				}
			}
		}
		flush()
	})
	n := feed.driven()
	return &stageResult{driven: n, eventBytes: sumBytes(events, n), clock: m}, fails
}

// runValidPass is one gjson.ValidBytes pass over each event: the least any
// edge does with an event.
func runValidPass(ctx context.Context, c *Config, events [][]byte) *stageResult {
	r, fails := pass(ctx, c, events, func() (func(int) error, func()) {
		return func(i int) error {
			if !gjson.ValidBytes(events[i]) {
				return errors.New("invalid JSON")
			}
			return nil
		}, func() {}
	})
	r.ok = r.driven - fails.total()
	return r
}

// runJSONPipeline does the pipeline stage's work the obvious way: decode
// each event into a map with encoding/json, check its type and required
// fields, parse the timestamp, marshal the 11 column values, and pack the
// row with the same packer.
func runJSONPipeline(ctx context.Context, c *Config, events [][]byte) (*stageResult, error) {
	pc, err := packing(c, "s2segment")
	if err != nil {
		return nil, fmt.Errorf("building the insert: %w", err)
	}
	if _, err := batch.New(pc); err != nil {
		return nil, fmt.Errorf("configuring the packer: %w", err)
	}
	r, fails := pass(ctx, c, events, func() (func(int) error, func()) {
		packer, _ := batch.New(pc)
		var row []byte
		return func(i int) error {
				var err error
				if row, err = jsonMapRow(row[:0], events[i]); err != nil {
					return err
				}
				_, err = packer.Add(row, i)
				return err
			}, func() {
				packer.Flush()
			}
	})
	r.ok = r.driven - fails.total()
	return r, nil
}

// errBaselineReject is the encoding/json baseline's refusal of an event.
var errBaselineReject = errors.New("event rejected")

// jsonMapRow encodes an event's row through encoding/json maps.
func jsonMapRow(dst, ev []byte) ([]byte, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(ev))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	typ, _ := m["type"].(string)
	switch typ {
	case "track", "identify", "page", "screen", "group", "alias":
	default:
		return nil, errBaselineReject
	}
	id, _ := m["messageId"].(string)
	ev2, _ := m["event"].(string)
	if id == "" || (typ == "track" && ev2 == "") {
		return nil, errBaselineReject
	}
	ts, _ := m["timestamp"].(string)
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, errBaselineReject
	}
	vals := [...]any{id, t.UTC().Format("2006-01-02 15:04:05.000000"), typ, m["event"], m["name"],
		m["properties"], m["userId"], m["anonymousId"], m["groupId"], m["traits"], m["context"]}
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		dst = append(dst, b...)
	}
	return dst, nil
}
