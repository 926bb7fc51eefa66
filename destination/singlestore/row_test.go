package singlestore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/s2segment/s2segment/destination"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func encodeOne(t *testing.T, enc *Encoder, event string) (string, error) {
	t.Helper()
	var p destination.Payload
	if _, err := enc.Process(nil, []byte(event), &p); err != nil {
		return "", err
	}
	row, err := enc.AppendRow(nil, &p)
	return string(row), err
}

func TestAppendRow(t *testing.T) {
	raw, err := NewEncoder(Options{})
	require.NoError(t, err)
	str, err := NewEncoder(Options{JSONColumns: JSONString, Schema: SchemaReference})
	require.NoError(t, err)
	long := strings.Repeat("é", MaxMessageIDLength+1)
	tests := []struct {
		name  string
		enc   *Encoder
		event string
		row   string
		error string
	}{
		{name: "raw JSON columns", enc: raw,
			event: `{"type":"identify","messageId":"m","timestamp":"2025-07-07T10:19:25.1234567Z","traits":{"a":[1,{"b":"\u00e9\n"}]},"context":{"x":12345678901234567890}}`,
			row:   `"m","2025-07-07 10:19:25.123456","identify",null,null,null,null,null,null,{"a":[1,{"b":"\u00e9\n"}]},{"x":12345678901234567890}`},
		{name: "JSON-encoded string columns", enc: str,
			event: `{"type":"identify","messageId":"m","timestamp":"2025-07-07T10:19:25Z","traits":{"a":"q\"\\"},"context":{"s":"tab\there"}}`,
			row:   `"m","2025-07-07 10:19:25.000000","identify",null,null,null,null,null,null,"{\"a\":\"q\\\"\\\\\"}","{\"s\":\"tab\\there\"}"`},
		{name: "epoch milliseconds", enc: raw, event: `{"type":"alias","messageId":"m","timestamp":1751883565665}`,
			row: `"m","2025-07-07 10:19:25.665000","alias",null,null,null,null,null,null,null,null`},
		{name: "year out of range", enc: raw, event: `{"type":"alias","messageId":"m","timestamp":"0999-12-31T23:59:59Z"}`,
			error: "Timestamp must be a valid date and time string but it was not."},
		{name: "message ID too long for the dedupe schema", enc: raw, event: `{"type":"alias","messageId":"` + long + `","timestamp":"2025-07-07T10:19:25Z"}`,
			error: fmt.Sprintf("Message ID must be 255 characters or fewer but it was %d characters.", MaxMessageIDLength+1)},
		{name: "long message ID fits the reference schema", enc: str, event: `{"type":"alias","messageId":"` + long + `","timestamp":"2025-07-07T10:19:25Z"}`,
			row: `"` + long + `","2025-07-07 10:19:25.000000","alias",null,null,null,null,null,null,null,null`},
		{name: "text too long for TEXT", enc: raw, event: `{"type":"track","messageId":"m","timestamp":"2025-07-07T10:19:25Z","event":"` + strings.Repeat("ab", MaxTextBytes/2+1) + `"}`,
			error: fmt.Sprintf("Event must be %d bytes or fewer but it was %d bytes.", MaxTextBytes, MaxTextBytes+1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row, err := encodeOne(t, tc.enc, tc.event)
			if tc.error != "" {
				require.Error(t, err)
				assert.Equal(t, tc.error, err.Error())
				assert.Equal(t, 400, destination.ResultOf(err).Status)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.row, row)
			var vals []json.RawMessage
			require.NoError(t, json.Unmarshal([]byte("["+row+"]"), &vals))
			assert.Len(t, vals, len(Columns))
		})
	}
}

func TestAppendDateTime(t *testing.T) {
	for in, want := range map[string]string{
		"2025-07-07T10:19:25.9999999Z":    "2025-07-07 10:19:25.999999",
		"2025-07-07T10:19:25Z":            "2025-07-07 10:19:25.000000",
		"0001-01-01T00:00:00Z":            "0001-01-01 00:00:00.000000",
		"2025-12-31T23:30:00-01:00":       "2026-01-01 00:30:00.000000",
		"9999-12-31T23:59:59.999999Z":     "9999-12-31 23:59:59.999999",
		"2025-07-07T10:19:25.000001Z":     "2025-07-07 10:19:25.000001",
		"2025-07-07T10:19:25.0000009Z":    "2025-07-07 10:19:25.000000",
		"2025-07-07T10:19:25.5+05:30":     "2025-07-07 04:49:25.500000",
		"2025-01-02T03:04:05.06789-00:00": "2025-01-02 03:04:05.067890",
	} {
		tt, err := time.Parse(time.RFC3339Nano, in)
		require.NoError(t, err)
		assert.Equal(t, want, string(AppendDateTime(nil, tt)), in)
	}
}

func TestDDL(t *testing.T) {
	ref, err := CreateTableSQL("segment_data", SchemaReference)
	require.NoError(t, err)
	assert.Equal(t, "CREATE TABLE IF NOT EXISTS `segment_data` (\n"+
		"  `messageId` TEXT NOT NULL,\n  `timestamp` DATETIME(6) NOT NULL,\n  `type` TEXT NOT NULL,\n"+
		"  `event` TEXT,\n  `name` TEXT,\n  `properties` JSON,\n  `userId` TEXT,\n  `anonymousId` TEXT,\n"+
		"  `groupId` TEXT,\n  `traits` JSON,\n  `context` JSON,\n  SHARD KEY ()\n"+
		") AUTOSTATS_CARDINALITY_MODE=PERIODIC AUTOSTATS_HISTOGRAM_MODE=CREATE SQL_MODE='STRICT_ALL_TABLES';", ref)
	dd, err := CreateTableSQL("segment_data", SchemaDedupe)
	require.NoError(t, err)
	assert.Contains(t, dd, "`messageId` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,")
	assert.Contains(t, dd, "SHARD KEY (`messageId`),\n  UNIQUE KEY (`messageId`) USING HASH,\n  SORT KEY (`timestamp`)\n)")

	in, err := CreateTableInSQL("analytics", "segment_data", SchemaReference)
	require.NoError(t, err)
	assert.Equal(t, strings.Replace(ref, "`segment_data`", "`analytics`.`segment_data`", 1), in)
	in, err = CreateTableInSQL("a`b", "t`u", SchemaDedupe)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(in, "CREATE TABLE IF NOT EXISTS `a``b`.`t``u` (\n"), in)
	_, err = CreateTableInSQL("a.b", "t", SchemaDedupe)
	assert.ErrorIs(t, err, ErrInvalidIdentifier)
	_, err = CreateTableInSQL("d", "", SchemaDedupe)
	assert.ErrorIs(t, err, ErrInvalidIdentifier)

	prefix, suffix, err := InsertSQL("seg`data", SchemaDedupe)
	require.NoError(t, err)
	assert.Equal(t, "INSERT INTO `seg``data` (`messageId`, `timestamp`, `type`, `event`, `name`, `properties`, `userId`, `anonymousId`, `groupId`, `traits`, `context`) VALUES ", prefix)
	assert.Equal(t, " ON DUPLICATE KEY UPDATE `type` = `type`", suffix)
	_, suffix, err = InsertSQL("t", SchemaReference)
	require.NoError(t, err)
	assert.Empty(t, suffix)

	// Whatever the name, it stays one quoted identifier.
	for _, name := range []string{"a`b", "``", "x` (a INT); DROP TABLE y; --", "a'b\"c", "名前", "`"} {
		q := QuoteIdentifier(name)
		require.True(t, strings.HasPrefix(q, "`") && strings.HasSuffix(q, "`"))
		inner := q[1 : len(q)-1]
		assert.Equal(t, name, strings.ReplaceAll(inner, "``", "`"))
		assert.NotContains(t, strings.ReplaceAll(inner, "``", ""), "`", "no lone backtick can end the identifier early")
		ddl, err := CreateTableSQL(name, SchemaDedupe)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(ddl, "CREATE TABLE IF NOT EXISTS "+q+" (\n"))
	}

	for _, bad := range []struct{ name, reason string }{
		{"", "empty"}, {"a\x00b", "NUL"}, {"a\nb", "control character"}, {"trailing ", "ends with a space"},
		{strings.Repeat("t", MaxTableNameLength+1), "limit is 256"}, {"\xff", "UTF-8"},
	} {
		err := ValidateTableName(bad.name)
		assert.ErrorIs(t, err, ErrInvalidIdentifier, "%q", bad.name)
		assert.ErrorContains(t, err, bad.reason)
		_, err = CreateTableSQL(bad.name, SchemaReference)
		assert.Error(t, err)
	}
	assert.ErrorContains(t, ValidateDatabaseName(strings.Repeat("d", 65)), "limit is 64")
	assert.ErrorContains(t, ValidateDatabaseName("a.b"), "must not contain")
	assert.NoError(t, ValidateDatabaseName("analytics_2025"))

	s, err := ParseSchema("reference")
	require.NoError(t, err)
	assert.Equal(t, SchemaReference, s)
	assert.Equal(t, "dedupe", SchemaDedupe.String())
	_, err = ParseSchema("wide")
	assert.Error(t, err)
}
