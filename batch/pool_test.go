package batch_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/batch"
)

// TestReleaseReusesBodies packs requests, releasing every other one: the
// requests kept are untouched by the ones built in released memory, a
// released request holds nothing, and every body is the one the rows make.
func TestReleaseReusesBodies(t *testing.T) {
	c := batch.Config{Prefix: "INSERT INTO t (a, b) VALUES ", Columns: 2, Database: "db", MaxBytes: 4000}
	p := newPacker(t, c)
	type kept struct {
		req  *batch.Request
		body []byte
	}
	var keep []kept
	var all [][]byte
	n := 0
	for i := range 2000 {
		row := []byte(fmt.Sprintf(`%d,"%s"`, i, bytes.Repeat([]byte{'a' + byte(i%26)}, i%300)))
		all = append(all, row)
		full, err := p.Add(row, i)
		require.NoError(t, err)
		if full == nil {
			continue
		}
		want := make([][]byte, 0, full.Len())
		for _, ref := range full.Refs() {
			want = append(want, all[ref])
		}
		require.Equal(t, string(marshalBody(t, c, want)), string(full.Body()))
		if n%2 == 0 {
			keep = append(keep, kept{full, bytes.Clone(full.Body())})
		} else {
			full.Release()
			assert.Equal(t, 0, full.Len())
			assert.Nil(t, full.Body())
			full.Release() // a second time is harmless
		}
		n++
	}
	require.Greater(t, n, 50)
	for _, k := range keep {
		assert.Equal(t, string(k.body), string(k.req.Body()), "a kept request was overwritten")
	}
}
