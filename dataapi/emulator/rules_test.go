package emulator

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRuleDocsInTable checks that every rule page the emulator cites has a
// case in the rule table (internal/fidelity runs the table).
func TestRuleDocsInTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "singlestore-rules.json"))
	require.NoError(t, err)
	var table struct {
		Cases []struct {
			Doc string `json:"doc"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(b, &table))
	docs := map[string]bool{}
	for _, c := range table.Cases {
		docs[c.Doc] = true
	}
	for _, d := range ruleDocs {
		assert.True(t, docs[d], "no case cites %s", d)
	}
}

// TestRulesRemember follows a table through ALTER, RENAME and DROP: the
// rules judge later statements by what was remembered, and forget a
// dropped table.
func TestRulesRemember(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			h := newHarness(t, b.config(t, uniqueName("s2rules")))
			refused := func(sql string) {
				t.Helper()
				r := h.do(http.MethodPost, "/api/v2/exec", h.body(sql), nil)
				assert.Equal(t, http.StatusBadRequest, r.status, sql)
				assert.True(t, strings.HasPrefix(r.body, "Error 1706 (HY000): Feature '"), "%s: %s", sql, r.body)
			}
			h.exec("CREATE TABLE d (m VARCHAR(64) NOT NULL, `type` TEXT, SHARD KEY (m), UNIQUE KEY (m) USING HASH, SORT KEY (`type`(10)))")
			refused("INSERT INTO d (m) VALUES ('a') ON DUPLICATE KEY UPDATE m = m")
			h.exec("ALTER TABLE d ADD COLUMN (extra JSON, more TEXT)")
			refused("INSERT INTO d (m, extra) VALUES ('a', '{}') ON DUPLICATE KEY UPDATE m = m")
			h.exec("INSERT INTO d (m, extra) VALUES ('a', '{\"n\":12345678901234567890123}') ON DUPLICATE KEY UPDATE `type` = `type`")
			rows := h.rows("SELECT extra::$n AS n FROM d")
			require.Len(t, rows, 1)
			refused("UPDATE d SET m = 'b'")
			h.exec("RENAME TABLE d TO e")
			refused("UPDATE e SET m = 'b'")
			h.exec("DROP TABLE e")
			h.exec("CREATE TABLE e (m VARCHAR(64) NOT NULL, `type` TEXT)")
			h.exec("UPDATE e SET m = 'b'") // a new table, keyless: nothing to refuse
		})
	}
}
