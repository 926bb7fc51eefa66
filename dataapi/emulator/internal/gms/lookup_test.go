package gms

import (
	"context"
	gosql "database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStoreLookups runs joins, LIKE prefixes, ranges, IN lists, IS NULL,
// null-safe joins and equality lookups on the unique keys of store tables,
// and compares each answer with the same query on go-mysql-server's own
// in-memory tables holding the same rows. Before the store's indexes
// served lookups, the planner built lookup joins on them and the
// statements failed ("indexable table does not support given lookup").
func TestStoreLookups(t *testing.T) {
	e, err := Start("l")
	require.NoError(t, err)
	defer e.Close()
	ctx := context.Background()
	db := open(t, e, "l")
	must := func(q string) {
		t.Helper()
		_, err := db.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}

	ddl := map[string]string{
		"accounts": "(id VARCHAR(255), name VARCHAR(64) COLLATE utf8mb4_0900_ai_ci, tier VARCHAR(16), seats INT)",
		"events":   "(id VARCHAR(255) NOT NULL, user_id VARCHAR(255), account_id VARCHAR(255), amount INT)",
		"pairs":    "(a INT, b VARCHAR(32), note TEXT)",
		"members":  "(group_id VARCHAR(255), user_id VARCHAR(255))",
	}
	keys := map[string][][]string{
		"accounts": {{"id"}, {"name"}},
		"events":   {{"id"}},
		"pairs":    {{"a", "b"}},
		"members":  {},
	}
	data := map[string]string{
		"accounts": `('acc_1', 'Alice', 'pro', 3), ('acc_2', 'Bob', 'free', 1), ('acc_3', 'Émile', 'pro', NULL),
			('acc10', 'Dora', 'team', 10), (NULL, 'Nobody', 'free', 0), ('ACC_4', 'Eve', NULL, 2), ('b_1', 'Zed', 'free', 5)`,
		"events": `('e1', 'u1', 'acc_1', 1), ('e2', 'u2', 'acc_1', 2), ('e3', 'u1', 'acc_2', 3), ('e4', 'u3', NULL, 1),
			('e5', 'u4', 'acc_9', 2), ('e6', NULL, 'acc10', 10), ('e7', 'u2', 'ACC_4', NULL), ('e8', 'u5', 'acc_3', 2)`,
		"pairs": `(1, 'u1', 'one u1'), (1, 'u2', 'one u2'), (2, 'u1', 'two u1'), (3, NULL, 'three null'),
			(NULL, 'u3', 'null u3'), (10, 'u5', 'ten u5')`,
		"members": `('acc_1', 'u1'), ('acc_1', 'u2'), ('acc_1', 'u1'), ('acc_2', 'u1'), ('acc10', NULL), ('acc_3', 'u5')`,
	}
	// s_ tables are store tables; p_ tables the engine's own, with the
	// same keys as go-mysql-server indexes.
	for name, cols := range ddl {
		e.ExpectTable("l", "s_"+name, keys[name])
		must("CREATE TABLE s_" + name + " " + cols)
		e.ForgetExpected("l", "s_"+name)
		require.NotNil(t, e.stores.get("l", "s_"+name), "s_%s is a store table", name)
		plain := strings.TrimSuffix(cols, ")")
		for _, k := range keys[name] {
			plain += ", UNIQUE KEY (" + strings.Join(k, ", ") + ")"
		}
		must("CREATE TABLE p_" + name + " " + plain + ", KEY (" + strings.Fields(strings.TrimPrefix(cols, "("))[0] + "))")
		require.Nil(t, e.stores.get("l", "p_"+name), "p_%s is an in-memory table", name)
		must("INSERT INTO s_" + name + " VALUES " + data[name])
		must("INSERT INTO p_" + name + " VALUES " + data[name])
	}

	queries := []string{
		// docs/warehouse.md's accounts query, on these tables.
		"SELECT a.id, a.name, a.tier, COUNT(p.id) AS projects, COUNT(DISTINCT p.user_id) AS active_users " +
			"FROM {accounts} a JOIN (SELECT DISTINCT group_id, user_id FROM {members}) g ON g.group_id = a.id " +
			"LEFT JOIN {events} p ON p.user_id = g.user_id WHERE a.id LIKE 'acc_%' GROUP BY a.id, a.name, a.tier ORDER BY projects DESC, a.id",
		"SELECT * FROM {accounts} WHERE id = 'acc_1'",
		"SELECT * FROM {accounts} WHERE id = 'ACC_1'",
		"SELECT * FROM {accounts} WHERE id = 'nope'",
		"SELECT * FROM {accounts} WHERE id IN ('acc_1', 'acc_3', 'nope', 'ACC_4') ORDER BY id",
		"SELECT * FROM {accounts} WHERE id IS NULL",
		"SELECT * FROM {accounts} WHERE id IS NOT NULL ORDER BY id",
		"SELECT * FROM {accounts} WHERE id < 'acc_2' ORDER BY id",
		"SELECT * FROM {accounts} WHERE id >= 'acc_2' ORDER BY id",
		"SELECT * FROM {accounts} WHERE id BETWEEN 'acc_1' AND 'acc_3' ORDER BY id",
		"SELECT * FROM {accounts} WHERE id LIKE 'acc_%' ORDER BY id",
		"SELECT * FROM {accounts} WHERE id LIKE 'acc\\_%' ORDER BY id",
		"SELECT * FROM {accounts} WHERE id = 'acc_1' OR id IS NULL ORDER BY id",
		"SELECT * FROM {accounts} WHERE name = 'alice'",
		"SELECT * FROM {accounts} WHERE name = 'EMILE'",
		"SELECT * FROM {accounts} WHERE name IN ('bob', 'DORA', 'x') ORDER BY id",
		"SELECT e.id, a.id, a.tier FROM {events} e JOIN {accounts} a ON a.id = e.account_id ORDER BY e.id",
		"SELECT e.id, a.id FROM {events} e LEFT JOIN {accounts} a ON a.id = e.account_id ORDER BY e.id",
		"SELECT e.id FROM {events} e LEFT JOIN {accounts} a ON a.id = e.account_id WHERE a.id IS NULL ORDER BY e.id",
		"SELECT e.id, a.name FROM {events} e JOIN {accounts} a ON a.id <=> e.account_id ORDER BY e.id",
		"SELECT e.id, a.name FROM {events} e JOIN {accounts} a ON a.id = e.account_id AND a.tier = 'pro' ORDER BY e.id",
		"SELECT e.id, a.name FROM {events} e JOIN {accounts} a ON a.id = e.account_id WHERE a.id LIKE 'acc_%' AND e.amount BETWEEN 1 AND 2 ORDER BY e.id",
		"SELECT id FROM {events} WHERE account_id IN (SELECT id FROM {accounts} WHERE tier = 'pro') ORDER BY id",
		"SELECT id FROM {events} e WHERE EXISTS (SELECT 1 FROM {accounts} a WHERE a.id = e.account_id) ORDER BY id",
		"SELECT id FROM {events} e WHERE NOT EXISTS (SELECT 1 FROM {accounts} a WHERE a.id = e.account_id) ORDER BY id",
		"SELECT a.id, (SELECT COUNT(*) FROM {events} e WHERE e.account_id = a.id) FROM {accounts} a ORDER BY a.id",
		"SELECT a.id, e.id FROM {accounts} a JOIN {events} e ON e.id = CONCAT('e', a.seats) ORDER BY a.id",
		"SELECT * FROM {pairs} WHERE a = 1 AND b = 'u2'",
		"SELECT * FROM {pairs} WHERE a = 1 ORDER BY b",
		"SELECT * FROM {pairs} WHERE a IN (1, 2) AND b = 'u1' ORDER BY a",
		"SELECT * FROM {pairs} WHERE a = '1' AND b = 'u1'",
		"SELECT * FROM {pairs} WHERE a = 3 AND b IS NULL",
		"SELECT * FROM {pairs} WHERE a IS NULL AND b = 'u3'",
		"SELECT * FROM {pairs} WHERE a > 1 AND b = 'u1'",
		"SELECT e.id, p.note FROM {events} e JOIN {pairs} p ON p.a = e.amount AND p.b = e.user_id ORDER BY e.id",
		"SELECT e.id, p.note FROM {events} e JOIN {pairs} p ON p.a = e.amount ORDER BY e.id, p.note",
		"SELECT e.id, p.note FROM {events} e JOIN {pairs} p ON p.a <=> e.amount AND p.b <=> e.user_id ORDER BY e.id",
		"SELECT e.id, p.note FROM {events} e LEFT JOIN {pairs} p ON p.b = e.user_id AND p.a = 1 ORDER BY e.id, p.note",
	}
	run := func(prefix, q string) ([][]string, error) {
		for name := range ddl {
			q = strings.ReplaceAll(q, "{"+name+"}", prefix+name)
		}
		return rowsOf(ctx, db, q)
	}
	compare := func() {
		t.Helper()
		for _, q := range queries {
			want, err := run("p_", q)
			require.NoError(t, err, q)
			got, err := run("s_", q)
			if assert.NoError(t, err, q) {
				assert.Equal(t, want, got, q)
			}
		}
	}
	compare()

	// The answers above must come through the store's lookups, not only
	// through scans.
	plan, err := rowsOf(ctx, db, "EXPLAIN PLAN SELECT e.id, a.id FROM s_events e JOIN s_accounts a ON a.id = e.account_id")
	require.NoError(t, err)
	assert.Contains(t, flat(plan), "IndexedTableAccess(s_accounts)", "a lookup join on the store's key")
	plan, err = rowsOf(ctx, db, "EXPLAIN PLAN SELECT * FROM s_accounts WHERE id IN ('acc_1', 'acc_2')")
	require.NoError(t, err)
	assert.Contains(t, flat(plan), "IndexedTableAccess(s_accounts)", "an IN list looked up in the store's key")
	plan, err = rowsOf(ctx, db, "EXPLAIN PLAN SELECT * FROM s_accounts WHERE id LIKE 'acc_%'")
	require.NoError(t, err)
	assert.NotContains(t, flat(plan), "IndexedTableAccess", "a LIKE prefix is a range the hash cannot serve: a scan")

	// Writes through lookups, then the same answers.
	for _, p := range []string{"s_", "p_"} {
		must("UPDATE " + p + "accounts SET tier = 'team' WHERE id = 'acc_2'")
		must("UPDATE " + p + "accounts SET id = 'acc_5' WHERE id IN ('acc_3')")
		must("DELETE FROM " + p + "events WHERE id IN ('e2', 'e7')")
		must("DELETE FROM " + p + "pairs WHERE a = 1 AND b = 'u1'")
		must("UPDATE " + p + "events SET amount = amount + 1 WHERE id IN ('e1', 'e8', 'nope')")
		must("INSERT INTO " + p + "events VALUES ('e9', 'u1', 'acc_5', 4)")
	}
	compare()
}

// rowsOf runs q and returns its rows as text, NULL as "<nil>".
func rowsOf(ctx context.Context, db *gosql.DB, q string) ([][]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := [][]string{}
	for rows.Next() {
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "<nil>"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func flat(rows [][]string) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(strings.Join(r, " "))
		b.WriteByte('\n')
	}
	return b.String()
}
