package mapping

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestApplyEventMatchesApply runs every conformance case through both
// entry points: a checked event's members give exactly what walking the
// event gives.
func TestApplyEventMatchesApply(t *testing.T) {
	files, err := filepath.Glob("testdata/*.ndjson")
	require.NoError(t, err)
	n := 0
	for _, file := range files {
		for _, c := range loadCases(t, file) {
			m, err := Compile(c.Mapping)
			if err != nil {
				continue
			}
			ev, err := ParseEvent(c.Payload, nil)
			if err != nil {
				continue // not an object
			}
			want, wantDef, wantErr := m.Apply(c.Payload)
			got, gotDef, gotErr := m.AppendApplyEvent(nil, &ev)
			assert.Equal(t, string(want), string(got), c.Name)
			assert.Equal(t, wantDef, gotDef, c.Name)
			assert.Equal(t, wantErr != nil, gotErr != nil, c.Name)
			if wantErr != nil && gotErr != nil {
				assert.Equal(t, wantErr.Error(), gotErr.Error(), c.Name)
			}
			n++
		}
	}
	require.Greater(t, n, 100)
}

func TestApplyEventOfZeroEvent(t *testing.T) {
	m, err := Compile([]byte(`{"a":{"@path":"$.a"}}`))
	require.NoError(t, err)
	var ev Event
	_, _, err = m.AppendApplyEvent(nil, &ev)
	require.Error(t, err, "the zero Event is not an object")
}
