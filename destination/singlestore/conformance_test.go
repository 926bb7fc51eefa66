package singlestore

import (
	"encoding/json"
	"testing"

	"github.com/s2segment/s2segment/destination"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// TestSendDataConformance runs every Send Data vector: the event through the
// action with its default mapping and subscription, then the row encoding.
// A valid event must give exactly the expected row (compared as JSON
// values), an invalid one exactly the expected status and message.
func TestSendDataConformance(t *testing.T) {
	cases := readSendCases(t)
	require.Len(t, cases, 55)
	enc, err := NewEncoder(Options{})
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			require.True(t, gjson.ValidBytes(c.Event))
			var p destination.Payload
			_, err := enc.Process(nil, c.Event, &p)
			var row []byte
			if err == nil {
				row, err = enc.AppendRow(nil, &p)
			}
			res := destination.ResultOf(err)
			require.Equal(t, c.Expect.Status, res.Status, "error: %v; note: %s", err, c.Note)
			if c.Expect.Status != 200 {
				assert.Equal(t, c.Expect.Error, res.ErrorMessage)
				assert.Equal(t, destination.TypePayloadValidationFailed, res.ErrorType)
				return
			}
			got := append(append([]byte("["), row...), ']')
			require.True(t, json.Valid(got), "row %s", got)
			assert.Empty(t, jsonValuesEqual(c.Expect.Row, got), "want %s\n got %s", c.Expect.Row, got)
		})
	}
}
