package singlestore

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/destination"
)

// FuzzEncode sends arbitrary events through the Send Data action and the
// row encoding. It never panics; a failure is a 400 with a message; and a
// row that comes out is exactly 11 JSON values that the batch packer
// accepts, so one event can never break the request of its neighbours.
func FuzzEncode(f *testing.F) {
	for _, c := range readSendCases(f) {
		f.Add([]byte(c.Event))
	}
	f.Add([]byte(`{"type":"track","event":"E","messageId":"m","timestamp":"2025-07-07T10:19:25Z","properties":{"a":"\u0000\ud83d\ude00"}}`))
	f.Add([]byte(`{"type":"track","event":["E"],"messageId":[1],"timestamp":[1751883565]}`))
	enc, err := NewEncoder(Options{})
	if err != nil {
		f.Fatal(err)
	}
	prefix, suffix, err := InsertSQL("t", SchemaDedupe)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, event []byte) {
		var p destination.Payload
		_, err := enc.Process(nil, event, &p)
		var row []byte
		if err == nil {
			row, err = enc.AppendRow(nil, &p)
		}
		if err != nil {
			r := destination.ResultOf(err)
			if r.Status != 400 || r.ErrorMessage == "" {
				t.Fatalf("event %q: result %+v", event, r)
			}
			return
		}
		// Process checks the event: only well-formed JSON gets this far,
		// and its payload is marked checked, so Pack trusts the row. The
		// checks below are what make that trust safe.
		if !json.Valid(event) || !p.Checked() {
			t.Fatalf("event %q: accepted without being checked (checked=%v)", event, p.Checked())
		}
		var vals []json.RawMessage
		if err := json.Unmarshal(append(append([]byte("["), row...), ']'), &vals); err != nil || len(vals) != len(Columns) {
			t.Fatalf("row %s of %s: %v, %d values", row, event, err, len(vals))
		}
		pk, err := batch.New(batch.Config{Prefix: prefix, Suffix: suffix, Columns: len(Columns), Database: "d"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pk.Add(row, 0); err != nil && !errors.Is(err, batch.ErrRowTooLarge) {
			t.Fatalf("the packer refuses row %s of %s: %v", row, event, err)
		}
	})
}
