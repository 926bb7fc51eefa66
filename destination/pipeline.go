package destination

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/s2segment/s2segment/internal/checked"
	"github.com/s2segment/s2segment/mapping"
	"github.com/tidwall/gjson"
)

// Config is what a destination instance chooses for one action: its
// mapping and its subscription. The zero value uses the action's defaults.
type Config struct {
	// Mapping overlays the defaults of the action's fields: a JSON object
	// whose keys replace (or add to) the field defaults, as Segment merges
	// {...defaults, ...mapping}. nil keeps the defaults.
	Mapping json.RawMessage
	// Subscription is the FQL that selects events; "" means the action's
	// DefaultSubscription, and an action without one receives every event.
	Subscription string
}

// Pipeline is an action compiled with a Config: the per-event path from a
// raw event to a validated payload. It is built once and used for every
// event; it is immutable and safe for concurrent use.
type Pipeline struct {
	action  *Action
	sub     *Subscription
	mapping *mapping.Mapping
	schema  *Schema
	merged  []byte

	// payloads holds *[]Payload of earlier ExecuteBatch calls: a payload's
	// scratch (values, members) is kept, so a batch allocates none.
	payloads sync.Pool
}

// ErrNoPerform is returned by Execute and ExecuteBatch for an action that
// has neither Perform nor PerformBatch.
var ErrNoPerform = errors.New("the action has no perform function")

// Compile checks the action, merges cfg.Mapping over the field defaults,
// compiles the mapping and the subscription, and returns the Pipeline. A
// mapping or subscription that does not compile is reported with what is
// wrong and where (mapping-kit's messages, the subscription's byte offset).
func (a *Action) Compile(cfg Config) (*Pipeline, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	merged, err := MergeMapping(a.Fields, cfg.Mapping)
	if err != nil {
		return nil, err
	}
	m, err := mapping.Compile(merged)
	if err != nil {
		return nil, fmt.Errorf("compiling mapping: %w", err)
	}
	fql := cfg.Subscription
	if fql == "" {
		fql = a.DefaultSubscription
	}
	var sub *Subscription
	if fql != "" {
		if sub, err = ParseSubscription(fql); err != nil {
			return nil, fmt.Errorf("parsing subscription %q: %w", fql, err)
		}
	}
	schema, err := NewSchema(a.Fields)
	if err != nil {
		return nil, err
	}
	return &Pipeline{action: a, sub: sub, mapping: m, schema: schema, merged: merged}, nil
}

// MergeMapping returns the mapping an action runs: the defaults of its
// fields (in field order) overlaid with user, a JSON object whose keys
// replace defaults in place and whose other keys follow, as JavaScript's
// {...defaults, ...user} orders them.
func MergeMapping(fields Fields, user json.RawMessage) ([]byte, error) {
	type member struct{ key, value string }
	var members []member
	set := func(k, v string) {
		for i := range members {
			if members[i].key == k {
				members[i].value = v
				return
			}
		}
		members = append(members, member{k, v})
	}
	for _, f := range fields {
		if len(f.Default) > 0 {
			k, _ := json.Marshal(f.Key)
			set(string(k), string(f.Default))
		}
	}
	if len(bytes.TrimSpace(user)) > 0 {
		if err := CheckDepth(user); err != nil {
			return nil, fmt.Errorf("reading mapping: %w", err)
		}
		if !gjson.ValidBytes(user) {
			return nil, fmt.Errorf("reading mapping: %w", jsonSyntaxError(user))
		}
		r := gjson.ParseBytes(user)
		if !r.IsObject() {
			return nil, fmt.Errorf("reading mapping: a mapping must be a JSON object, not %s", humanizeTypeOf(r))
		}
		r.ForEach(func(k, v gjson.Result) bool {
			key, _ := json.Marshal(k.Str) // normalised, so that "a" and "\u0061" are one key
			set(string(key), v.Raw)
			return true
		})
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.key)
		b.WriteByte(':')
		b.WriteString(m.value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// jsonSyntaxError describes where b stops being JSON.
func jsonSyntaxError(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte offset %d: %w", se.Offset, err)
	}
	if err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	return errors.New("invalid JSON")
}

// Action returns the action the pipeline runs.
func (p *Pipeline) Action() *Action { return p.action }

// Subscription returns the pipeline's subscription; nil when every event is
// selected.
func (p *Pipeline) Subscription() *Subscription { return p.sub }

// Mapping returns the merged mapping the pipeline applies.
func (p *Pipeline) Mapping() []byte { return p.merged }

// Schema returns the validation schema of the action's fields.
func (p *Pipeline) Schema() *Schema { return p.schema }

// Match reports whether the subscription selects event.
func (p *Pipeline) Match(event []byte) bool {
	return p.sub == nil || p.sub.Match(event)
}

// Process runs one event through the pipeline: the subscription, the
// mapping, then validation and coercion of the mapped payload. On success
// out holds the payload. The mapped (and, if it had to change, the
// validated) JSON is appended to buf, and the extended buf is returned; the
// payload points into it, so the bytes up to len(buf) must not be
// overwritten while out is in use (appending is fine).
//
// event is checked first, in one pass that also finds its top-level
// members (see mapping.ParseEvent): an event that is not a well-formed
// JSON object, holds invalid UTF-8 or nests deeper than MaxDepth is
// ErrInvalidEvent (a *DepthError for the depth). Callers that checked the
// event already use ProcessEvent, which does not read it again. Process
// never recurses on the event, so an event of any depth is safe here. The
// error is ErrNoMatch for an event the subscription does not select, a
// *ValidationError for an invalid payload, or an *Error (status 400) when
// the mapping fails on this event; ResultOf turns each into Segment's
// result.
func (p *Pipeline) Process(buf, event []byte, d Delivery, out *Payload) ([]byte, error) {
	ev, err := mapping.ParseEvent(event, &out.event)
	if err != nil {
		out.event, out.source = mapping.Event{}, nil
		var se *checked.SyntaxError
		if errors.As(err, &se) && errors.Is(err, checked.ErrTooDeep) {
			return buf, &DepthError{Offset: se.Offset, Limit: MaxDepth}
		}
		return buf, fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	out.event = ev
	return p.ProcessEvent(buf, &out.event, d, out)
}

// ProcessEvent is Process for an event checked already (by
// mapping.ParseEvent, or by this module's readers as they read it): its
// top-level members come from ev, so neither the subscription, the mapping
// nor the validation walks the event again. The payload is marked as made
// from a checked event (Payload.Checked). ev must stay unmodified while out
// is in use.
func (p *Pipeline) ProcessEvent(buf []byte, ev *mapping.Event, d Delivery, out *Payload) ([]byte, error) {
	out.source = ev.Bytes()
	if !ev.Valid() {
		out.checked = false
		return buf, ErrInvalidEvent
	}
	// The event's top level gives what the subscription needs and the
	// larger objects and arrays, which the mapping usually copies whole
	// into the payload: validation then recognises them instead of
	// scanning them again.
	var (
		fe   evalEvent
		seen [numFieldKinds]bool
	)
	known := out.known[:0]
	for i := 0; i < ev.Len(); i++ {
		raw := ev.Value(i)
		if p.sub != nil {
			if k, isRoot := rootKind(keyString(ev.Key(i))); isRoot && p.sub.roots[k] && !seen[k] {
				fe.vals[k], seen[k] = resultOf(raw), true
			}
		}
		if len(raw) >= minKnownLen && len(known) < maxKnown && (raw[0] == '{' || raw[0] == '[') {
			known = append(known, raw)
		}
	}
	out.known = known
	if p.sub != nil && !fe.group(&p.sub.root) {
		return buf, ErrNoMatch
	}
	start := len(buf)
	mappedBuf, defined, err := p.mapping.AppendApplyEvent(buf, ev)
	if err != nil {
		return buf, &Error{Status: 400, Type: TypePayloadValidationFailed, Message: err.Error(), Err: err}
	}
	buf = mappedBuf
	mapped := buf[start:len(buf):len(buf)]
	if !defined || len(mapped) == 0 {
		mapped = []byte("{}")
	}
	buf, err = p.schema.validate(buf, mapped, d, out, known)
	out.checked = err == nil
	return buf, err
}

// Known container values: at most maxKnown per event, each at least
// minKnownLen bytes (smaller ones are as quick to scan as to compare).
const (
	maxKnown    = 8
	minKnownLen = 64
)

// payloadSlack is the room ExecuteBatch gives a payload beyond its event's
// size (literal defaults a mapping adds, such as Send Data's batch size).
const payloadSlack = 64

// Execute runs one event as Segment's single-event execute does (Single
// delivery) and performs it with the action's Perform (or PerformBatch with
// one payload).
func (p *Pipeline) Execute(ctx context.Context, s Settings, event []byte) Result {
	pl := &Payload{} // Process checks the event, depth included, in one pass
	if _, err := p.Process(nil, event, Single, pl); err != nil {
		return ResultOf(err)
	}
	switch {
	case p.action.Perform != nil:
		return finish(p.action.Perform(ctx, s, pl), pl)
	case p.action.PerformBatch != nil:
		rs := p.action.PerformBatch(ctx, s, []*Payload{pl})
		if len(rs) == 0 {
			return missingResult()
		}
		return finish(rs[0], pl)
	}
	return ResultOf(&Error{Status: 501, Message: ErrNoPerform.Error(), Err: ErrNoPerform})
}

// ExecuteBatch runs events as Segment's executeBatch does (Batched
// delivery): each event that fails its subscription or validation gets its
// 400 at its index, and the valid payloads are performed together with the
// action's PerformBatch (or one by one with Perform). The MultiStatus has
// one result per event, in order.
func (p *Pipeline) ExecuteBatch(ctx context.Context, s Settings, events [][]byte) *MultiStatus {
	ms := NewMultiStatus(len(events))
	if len(events) == 0 {
		return ms
	}
	// The payloads stay referenced by the results (Sent), so they share one
	// buffer sized for them up front: a payload is about the size of its
	// event, and a larger one only makes append move on to a new array.
	total := 0
	for _, ev := range events {
		total += len(ev) + payloadSlack
	}
	buf := make([]byte, 0, total)
	pp, _ := p.payloads.Get().(*[]Payload)
	if pp == nil {
		pp = new([]Payload)
	}
	defer p.payloads.Put(pp) // the results keep only slices of buf
	if cap(*pp) < len(events) {
		*pp = append((*pp)[:cap(*pp)], make([]Payload, len(events)-cap(*pp))...)
	}
	payloads := (*pp)[:len(events)]
	valid := make([]*Payload, 0, len(events))
	for i, ev := range events {
		pl := &payloads[i]
		pl.Index, pl.JSON = i, nil
		var err error
		// Process checks the event, depth included, in one pass.
		if buf, err = p.Process(buf, ev, Batched, pl); err != nil {
			ms.Fail(i, err)
			continue
		}
		valid = append(valid, pl)
	}
	if len(valid) == 0 {
		return ms
	}
	switch {
	case p.action.PerformBatch != nil:
		rs := p.action.PerformBatch(ctx, s, valid)
		for j, pl := range valid {
			if j < len(rs) {
				ms.Results[pl.Index] = finish(rs[j], pl)
			} else {
				ms.Results[pl.Index] = missingResult()
			}
		}
	case p.action.Perform != nil:
		for _, pl := range valid {
			ms.Results[pl.Index] = finish(p.action.Perform(ctx, s, pl), pl)
		}
	default:
		for _, pl := range valid {
			ms.Fail(pl.Index, &Error{Status: 501, Message: ErrNoPerform.Error(), Err: ErrNoPerform})
		}
	}
	return ms
}

// finish completes a perform function's result for pl: a result nobody set
// is a failure (results fail closed), and a nil Sent becomes the payload (a
// perform function that sent nothing sets Sent to an empty, non-nil value).
func finish(r Result, pl *Payload) Result {
	if r.Unset() {
		r = Result{Status: 500, ErrorType: TypeUnknownError, ErrorMessage: MissingMessage}
	}
	if r.Sent == nil {
		r.Sent = pl.JSON
	}
	return r
}

func missingResult() Result {
	return Result{Status: 500, ErrorType: TypeUnknownError, ErrorMessage: "MultiStatusResponse is missing a response at the specified index"}
}
