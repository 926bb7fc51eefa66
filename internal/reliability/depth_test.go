package reliability

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/s2segment/s2segment/mapping"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// depths are the nestings every entry point is given: past the limits of
// encoding/json and eventsource (10,000), and a million deep. Recursive
// descent parsers (gjson's validator among them) survive a million levels
// on Go's 1 GB stack; the entry points with their own depth guard refuse
// them long before.
var depths = []int{10_001, 1_000_000}

// deepArray is n nested arrays around 1; deepObject n nested objects.
func deepArray(n int) []byte {
	return []byte(strings.Repeat("[", n) + "1" + strings.Repeat("]", n))
}

func deepObject(n int) []byte {
	return []byte(strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n))
}

// deepEvent is a valid track event whose properties nest n deep.
func deepEvent(n int) []byte {
	return []byte(`{"type":"track","event":"E","messageId":"deep","timestamp":"2025-01-01T00:00:00Z","userId":"u","properties":{"p":` +
		string(deepArray(n)) + `}}`)
}

// TestDeepNestingEventSource reads files nested deep in every layout the
// reader knows: a stream value, a top-level array, an array element, a
// batch body. Each is an error for its value (or the file), the good event
// after it comes through, and nothing crashes.
func TestDeepNestingEventSource(t *testing.T) {
	t.Parallel()
	good := goodEvent(1)
	for _, n := range depths {
		for name, data := range map[string][]byte{
			"stream":        append(append(deepObject(n), '\n'), good...),
			"event":         append(append(deepEvent(n), '\n'), good...),
			"array":         deepArray(n),
			"array element": []byte("[" + string(deepObject(n)) + "," + string(good) + "]"),
			"batch":         []byte(`{"batch":[` + string(deepArray(n)) + "," + string(good) + "]}"),
			"unclosed":      append([]byte(strings.Repeat("[", n)+"\n"), good...),
		} {
			t.Run(fmt.Sprintf("%s/%d", name, n), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "deep.json")
				require.NoError(t, os.WriteFile(path, data, 0o600))
				r, err := eventsource.Open(context.Background(), eventsource.Config{MaxEventBytes: 8 << 20, MaxBatchBytes: 16 << 20}, []string{path}, nil)
				require.NoError(t, err)
				defer r.Close()
				var errs []error
				var events [][]byte
				for ev, err := range r.All() {
					if err != nil {
						errs = append(errs, err)
						continue
					}
					events = append(events, ev.Data)
				}
				require.NotEmpty(t, errs, "a value nested %d deep is an error", n)
				for _, err := range errs {
					var e *eventsource.Error
					assert.ErrorAs(t, err, &e)
					assert.True(t, errors.Is(err, eventsource.ErrMalformed) || errors.Is(err, eventsource.ErrNotObject) || errors.Is(err, eventsource.ErrTruncated), "%v", err)
					assert.Less(t, len(err.Error()), 400, "the error does not echo the input")
				}
				for _, ev := range events {
					assert.NotContains(t, string(ev), "[[[[", "no deep value is delivered")
				}
			})
		}
		t.Run(fmt.Sprintf("ExpandBatch/%d", n), func(t *testing.T) {
			var items, failures int
			err := eventsource.ExpandBatch([]byte(`{"batch":[`+string(deepObject(n))+`]}`), func(_ eventsource.Event, err error) error {
				items++
				if err != nil {
					failures++
				}
				return nil
			})
			assert.True(t, err != nil || failures == items, "a deep item is an error: %v", err)
		})
	}
}

// TestDeepNestingEndpoint posts bodies nested deep to every route of the
// hosted endpoint, with its size limits raised so that the bodies are
// parsed: each is a 400 that says how deep is allowed.
func TestDeepNestingEndpoint(t *testing.T) {
	t.Parallel()
	const key, secret, token = "wk_deep", "whsec_deep", "tok_deep"
	sink := endpoint.SinkFunc(func(_ context.Context, events [][]byte) []endpoint.Result {
		out := make([]endpoint.Result, len(events))
		for i := range out {
			out[i] = endpoint.Result{Status: http.StatusOK}
		}
		return out
	})
	srv, err := endpoint.New(endpoint.Config{
		Sources:       []endpoint.Source{{Name: "deep", WriteKey: key, WebhookSecret: secret, Sink: sink}},
		Actions:       stubActions{sink: sink},
		ActionsToken:  token,
		MaxEventBytes: 8 << 20, MaxBatchBytes: 8 << 20, MaxBodyBytes: 8 << 20, MaxInFlightBytes: 64 << 20,
	})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := ts.Client()

	for _, n := range depths {
		for _, tc := range []struct {
			route string
			body  []byte
			hdr   func(*http.Request, []byte)
		}{
			{"/v1/track", deepEvent(n), func(r *http.Request, _ []byte) { r.SetBasicAuth(key, "") }},
			{"/v1/identify", deepObject(n), func(r *http.Request, _ []byte) { r.SetBasicAuth(key, "") }},
			{"/v1/batch", []byte(`{"batch":[` + string(deepEvent(n)) + `]}`), func(r *http.Request, _ []byte) { r.SetBasicAuth(key, "") }},
			{"/v1/import", deepArray(n), func(r *http.Request, _ []byte) { r.SetBasicAuth(key, "") }},
			{"/webhook/deep", deepEvent(n), func(r *http.Request, b []byte) {
				r.Header.Set(endpoint.SignatureHeader, endpoint.Sign([]byte(secret), b))
			}},
			{"/send", []byte(`{"payload":` + string(deepEvent(n)) + `,"settings":{}}`), func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer "+token) }},
			{"/authenticate", deepObject(n), func(r *http.Request, _ []byte) { r.Header.Set("Authorization", "Bearer "+token) }},
		} {
			req, err := http.NewRequest(http.MethodPost, ts.URL+tc.route, bytes.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			tc.hdr(req, tc.body)
			resp, err := client.Do(req)
			require.NoError(t, err, tc.route)
			var answer bytes.Buffer
			_, _ = answer.ReadFrom(resp.Body)
			resp.Body.Close()
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "%s nested %d: %s", tc.route, n, answer.String())
			assert.Contains(t, answer.String(), "nested more than 128 levels", "%s nested %d", tc.route, n)
		}
	}
}

// stubActions serves the actions-cli routes for the depth test; the bodies
// never get past the endpoint's own checks.
type stubActions struct{ sink endpoint.Sink }

func (stubActions) Manifest() []byte                                     { return []byte(`{}`) }
func (stubActions) Authenticate(context.Context, []byte) error           { return nil }
func (a stubActions) Sink([]byte, []byte, string) (endpoint.Sink, error) { return a.sink, nil }

// TestDeepNestingLibrary gives every public entry point of the library that
// reads JSON a value nested deep, without any edge check first: each returns
// an error or a result that says what is wrong, and nothing crashes.
func TestDeepNestingLibrary(t *testing.T) {
	t.Parallel()
	_, w, c := newBadInputAPI(t, "deep")
	enc := w.Encoder()
	m, err := mapping.Compile([]byte(`{"p":{"@path":"$.properties"},"e":{"@path":"$.event"}}`))
	require.NoError(t, err)
	emu := httptest.NewServer(mustEmulator(t))
	defer emu.Close()

	for _, n := range depths {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ev := deepEvent(n)

			// The Writer refuses the event alone (the packer's depth check,
			// or the request cap), and writes its neighbour.
			ms := w.Write(context.Background(), [][]byte{ev, goodEvent(n % 97)})
			assert.Contains(t, []int{400, 413}, ms.Results[0].Status, ms.Results[0].ErrorMessage)
			assert.True(t, ms.Results[1].OK(), ms.Results[1].ErrorMessage)

			// The Encoder checks the event as it reads it: the depth
			// error, with the byte offset, and no row.
			var p destination.Payload
			_, err := enc.Process(nil, ev, &p)
			assert.ErrorIs(t, err, destination.ErrTooDeep)
			var de *destination.DepthError
			if assert.ErrorAs(t, err, &de) {
				assert.Positive(t, de.Offset)
			}

			// The packer checks rows from outside callers: a row holding
			// a deep array is refused alone.
			pk, err := batch.New(batch.Config{Prefix: "INSERT INTO t VALUES ", Columns: 1, MaxBytes: batch.LimitMaxBytes})
			require.NoError(t, err)
			var re *batch.RowError
			_, err = pk.Add(deepArray(n), 8)
			if assert.ErrorAs(t, err, &re) {
				assert.Equal(t, 8, re.Ref)
			}

			// mapping: a deep mapping does not compile; a deep event maps.
			_, err = mapping.Compile(deepObject(n))
			assert.ErrorIs(t, err, mapping.ErrInvalidMapping)
			_, _, err = m.Apply(ev)
			assert.NoError(t, err)

			// destination: the entry points that validate JSON themselves
			// check its depth first.
			checkDeepDestination(t, n)
			_, err = destination.ParseSubscription(strings.Repeat("(", n) + `type = "track"` + strings.Repeat(")", n))
			assert.ErrorIs(t, err, destination.ErrInvalidSubscription)

			// The emulator's request parser refuses a deep body with a 400.
			status, answer := post(t, emu.Client(), emu.URL+"/api/v2/exec", "root", []byte(`{"sql":"SELECT ?","args":[`+string(deepArray(n))+`]}`))
			assert.Equal(t, http.StatusBadRequest, status, answer)
			assert.True(t, strings.HasPrefix(answer, "Error "), answer)
		})
	}
	rows := rowsByID(t, c, "deep")
	assert.NotContains(t, rows, "deep", "no deep event was written")
	assert.Len(t, rows, 2, "the neighbours were")
}

// TestDeepNestingPastTheStack gives the destination entry points that
// validate JSON themselves (with gjson's recursive validator) values nested
// 6 million deep, past the depth at which that validator overflows Go's
// 1 GB stack (a fatal error, not a panic): their depth check refuses them
// first.
func TestDeepNestingPastTheStack(t *testing.T) {
	t.Parallel()
	checkDeepDestination(t, 6_000_000)
}

// checkDeepDestination checks that Execute, ExecuteBatch, ParseSettings
// and NewEncoder (a mapping) refuse a value nested n deep, n past
// destination.MaxDepth, with the depth error.
func checkDeepDestination(t *testing.T, n int) {
	t.Helper()
	pipeline, err := singlestore.SendAction().Compile(destination.Config{})
	require.NoError(t, err)
	r := pipeline.Execute(context.Background(), destination.Settings{}, deepArray(n))
	assert.Equal(t, 400, r.Status)
	assert.ErrorIs(t, r.Err, destination.ErrInvalidEvent, "an array is not an event, however deep")
	r = pipeline.Execute(context.Background(), destination.Settings{}, deepObject(n))
	assert.Equal(t, 400, r.Status)
	assert.ErrorIs(t, r.Err, destination.ErrTooDeep)
	assert.Contains(t, r.ErrorMessage, "nested more than 10000 levels deep at byte offset")
	ms := pipeline.ExecuteBatch(context.Background(), destination.Settings{}, [][]byte{deepObject(n), goodEvent(1)})
	assert.Equal(t, 400, ms.Results[0].Status)
	assert.ErrorIs(t, ms.Results[0].Err, destination.ErrTooDeep)
	assert.NotErrorIs(t, ms.Results[1].Err, destination.ErrTooDeep, "the neighbour is read")
	_, err = singlestore.ParseSettings(deepObject(n))
	assert.ErrorContains(t, err, "nested more than 10000 levels deep")
	_, err = singlestore.NewEncoder(singlestore.Options{Mapping: deepObject(n)})
	assert.ErrorIs(t, err, destination.ErrTooDeep)
	unclosed := bytes.Repeat([]byte("["), n)
	r = pipeline.Execute(context.Background(), destination.Settings{}, append([]byte(`{"a":`), unclosed...))
	assert.ErrorIs(t, r.Err, destination.ErrTooDeep)
	_, err = singlestore.NewEncoder(singlestore.Options{Mapping: append([]byte(`{"a":`), unclosed...)})
	assert.ErrorIs(t, err, destination.ErrTooDeep)
}

func mustEmulator(t *testing.T) *emulator.Server {
	t.Helper()
	s := newEmulator(t, emulator.Config{MaxBodyBytes: 8 << 20}) // big enough to parse a million levels
	t.Cleanup(func() { _ = s.Close() })
	return s
}
