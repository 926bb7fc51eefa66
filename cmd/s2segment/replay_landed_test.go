package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/destination/singlestore"
)

// TestShowLandedSingleStoreRules runs replay's read-back queries (both the
// local ones and the row count for a configured host) through the emulator
// with its SingleStore rule layer on, the default, on every backend: they
// are statements SingleStore accepts.
func TestShowLandedSingleStoreRules(t *testing.T) {
	ctx := context.Background()
	for name, dsn := range backends() {
		t.Run(name, func(t *testing.T) {
			tt := newTestTarget(t, dsn)
			require.True(t, tt.em.SingleStoreRules())
			w, err := singlestore.NewWriter(singlestore.NewExecutor(tt.client), singlestore.WriterConfig{
				Options: singlestore.Options{Schema: singlestore.SchemaDedupe}, Database: tt.database,
			})
			require.NoError(t, err)
			require.NoError(t, w.CreateTable(ctx))
			ms := w.Write(ctx, [][]byte{
				[]byte(`{"type":"track","event":"E","messageId":"l-1","userId":"u","timestamp":"2024-01-01T00:00:00Z","properties":{"n":123456789012345678901234567890}}`),
				[]byte(`{"type":"identify","messageId":"l-2","userId":"u","timestamp":"2024-01-01T00:00:01Z"}`),
			})
			for _, r := range ms.Results {
				require.Equal(t, 200, r.Status, "%s", r.Body)
			}
			var out bytes.Buffer
			require.NoError(t, showLanded(ctx, &out, tt.client, tt.database, singlestore.DefaultTable, true))
			assert.Contains(t, out.String(), "2 rows")
			assert.Contains(t, out.String(), "l-1")
			out.Reset()
			require.NoError(t, showLanded(ctx, &out, tt.client, tt.database, singlestore.DefaultTable, false))
			assert.Contains(t, out.String(), "now holds 2 rows")
		})
	}
}
