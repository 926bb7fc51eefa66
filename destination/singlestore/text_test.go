package singlestore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendJSONText(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1}`:                           `{"a":1}`,
		`{"e":"\uD83D\uDE00"}`:              `{"e":"😀"}`,
		`{"e":"\ud83d\ude00!\uD83C\uDF89"}`: `{"e":"😀!🎉"}`,
		`{"\ud83d\ude00":"k"}`:              `{"😀":"k"}`,
		`{"e":"\\uD83D\\uDE00"}`:            `{"e":"\\uD83D\\uDE00"}`, // escaped backslashes: text, not escapes
		`{"e":"\\\uD83D\uDE00"}`:            `{"e":"\\😀"}`,
		`{"e":"\ud800"}`:                    `{"e":"\ud800"}`, // a lone surrogate passes through
		`{"e":"\uDE00\uD83D"}`:              `{"e":"\uDE00\uD83D"}`,
		`{"e":"\u00e9\n\u0041"}`:            `{"e":"\u00e9\n\u0041"}`, // other escapes unchanged
		`{"e":"\uD83D\uDE0"}`:               `{"e":"\uD83D\uDE0"}`,
		`"😀"`:                               `"😀"`,
	} {
		got := string(appendJSONText(nil, in))
		assert.Equal(t, want, got, "%s", in)
		var a, b any
		if json.Unmarshal([]byte(in), &a) == nil {
			require.NoError(t, json.Unmarshal([]byte(got), &b), "%s", got)
			assert.Equal(t, a, b, "the value is unchanged: %s", in)
		}
		// The string mode sends the same text as a JSON string.
		var s string
		require.NoError(t, json.Unmarshal(appendJSONString(nil, in), &s))
		assert.Equal(t, want, s, "string mode: %s", in)
	}
	raw := `{"plain":"text with no escapes at all"}`
	buf := make([]byte, 0, 64)
	assert.Zero(t, testing.AllocsPerRun(100, func() { buf = appendJSONText(buf[:0], raw) }), "text without escape pairs costs no allocation")
}

func FuzzAppendJSONText(f *testing.F) {
	for _, s := range []string{`{"e":"\uD83D\uDE00"}`, `"\\uD83D\uDE00"`, `"\ud800\udc00\ud800"`, `[1,"\u0041"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got := appendJSONText(nil, in)
		var a, b any
		if json.Unmarshal([]byte(in), &a) != nil {
			return
		}
		require.NoError(t, json.Unmarshal(got, &b), "%q → %q", in, got)
		assert.Equal(t, a, b, "%q → %q", in, got)
	})
}

// TestEmojiEscapesLandAsTheCharacter writes an event whose properties spell
// an emoji as a UTF-16 escape pair and reads the JSON column back through
// the emulator: it holds the character itself. On MariaDB too when
// S2_TEST_MARIADB_DSN is set.
func TestEmojiEscapesLandAsTheCharacter(t *testing.T) {
	db := fmt.Sprintf("s2_emoji_%d", time.Now().UnixNano())
	cfgs := map[string]emulator.Config{"embedded": {Databases: []string{db}}}
	if dsn := os.Getenv("S2_TEST_MARIADB_DSN"); dsn != "" {
		cfgs["mariadb"] = emulator.Config{DSN: dsn, Databases: []string{db}}
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			l, err := emulator.Listen(t.Context(), cfg)
			require.NoError(t, err)
			t.Cleanup(func() { _ = l.Close() })
			client, err := dataapi.New(dataapi.Config{Host: l.Host(), Port: l.Port(), Scheme: "http", User: "root", Database: db})
			require.NoError(t, err)
			t.Cleanup(func() { _, _ = client.Exec(context.Background(), "DROP DATABASE IF EXISTS "+QuoteIdentifier(db)) })
			w, err := NewWriter(NewExecutor(client), WriterConfig{Database: db, Table: "emoji"})
			require.NoError(t, err)
			require.NoError(t, w.CreateTable(context.Background()))
			ev := []byte(`{"type":"track","event":"Smiled","messageId":"emoji-1","userId":"u","timestamp":"2024-05-01T10:00:00Z","properties":{"face":"\uD83D\uDE00","key\ud83c\udf89":"x"}}`)
			ms := w.Write(context.Background(), [][]byte{ev})
			require.True(t, ms.Results[0].OK(), "%+v", ms.Results[0])
			rows, err := client.QueryRows(context.Background(), "SELECT properties FROM "+QuoteIdentifier(db)+".`emoji`")
			require.NoError(t, err)
			require.Len(t, rows, 1)
			props := rows[0]["properties"]
			var text string // a JSON column may come back as JSON or as its text
			if json.Unmarshal(props, &text) == nil {
				props = json.RawMessage(text)
			}
			var got struct{ Face string }
			require.NoError(t, json.Unmarshal(props, &got), "%s", props)
			assert.Equal(t, "😀", got.Face)
			t.Logf("%s: properties read back: %s", name, props)
			assert.Contains(t, string(props), "😀", "the column holds the raw character")
			assert.Contains(t, string(props), "🎉")
			assert.NotContains(t, strings.ToLower(string(props)), `\ud83`)
		})
	}
}
