package emulator

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCancelledStatementLosesNoAcknowledgedWrite cuts a request off while
// its statement runs on the embedded engine, then writes another row and
// gets a success answer: that row must still be in the table once the cut
// statement has finished.
func TestCancelledStatementLosesNoAcknowledgedWrite(t *testing.T) {
	h := newHarness(t, Config{Databases: []string{"cancel"}})
	h.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
	for round := range 2 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.http.URL+"/api/v2/exec",
			strings.NewReader(h.body("INSERT INTO t (id, v) SELECT ?, 'slow' FROM dual WHERE SLEEP(0.3) = 0", 1000+round)))
		require.NoError(t, err)
		req.SetBasicAuth("root", "")
		req.Header.Set("Content-Type", "application/json")
		if resp, err := h.http.Client().Do(req); err == nil {
			resp.Body.Close()
		}
		cancel()
		h.exec("INSERT INTO t (id, v) VALUES (?, 'acked')", round)
		time.Sleep(500 * time.Millisecond)
		rows := h.rows("SELECT id FROM t WHERE id = ?", round)
		require.Len(t, rows, 1, "round %d: the acknowledged row is in the table", round)
	}
}
