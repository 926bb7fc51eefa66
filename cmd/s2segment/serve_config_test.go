package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/s2segment/s2segment/destination/singlestore"
)

func serveEnvOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseServeConfig(t *testing.T) {
	env := serveEnvOf(map[string]string{"WEB_KEY": "wk-1", "WEB_PW": serveTestPassword, "EMPTY": ""})
	srcs, err := parseServeConfig([]byte(`{"sources":[
	  {"name":"web","writeKeyEnv":"WEB_KEY","webhookSecret":"s3","passwordEnv":"WEB_PW",
	   "settings":{"host":"svc.example.com","username":"admin","dbName":"analytics"},
	   "mapping":{"userId":{"@path":"$.anonymousId"}},"subscription":"type = \"track\"","schema":"reference","jsonStrings":true},
	  {"name":"dev","writeKey":"wk-2","settings":{}}
	]}`), env)
	require.NoError(t, err)
	require.Len(t, srcs, 2)
	web := srcs[0]
	assert.Equal(t, "web", web.name)
	assert.Equal(t, "wk-1", web.writeKey)
	assert.Equal(t, "s3", web.webhookSecret)
	assert.Equal(t, singlestore.Settings{Host: "svc.example.com", Port: "443", Username: "admin", Password: serveTestPassword, DBName: "analytics", TableName: "segment_data"}, web.settings)
	assert.JSONEq(t, `{"userId":{"@path":"$.anonymousId"}}`, string(web.mapping))
	assert.Equal(t, `type = "track"`, web.subscription)
	assert.Equal(t, singlestore.SchemaReference, web.schema)
	assert.Equal(t, singlestore.JSONString, web.jsonColumns)
	assert.Equal(t, "", srcs[1].settings.Host, "no host: the embedded emulator")
	assert.Equal(t, singlestore.SchemaDedupe, srcs[1].schema)

	for _, tc := range []struct {
		name, json, want string
	}{
		{"not json", `{"sources":[`, "not JSON at byte offset"},
		{"empty", ``, "empty"},
		{"trailing", `{"sources":[]} {}`, "unexpected data"},
		{"no sources", `{"sources":[]}`, `"sources" is empty`},
		{"unknown key", `{"sources":[{"writeKey":"k","settings":{},"shema":"dedupe"}]}`, `unknown field "shema"`},
		{"unknown setting", `{"sources":[{"writeKey":"k","settings":{"database":"d"}}]}`, `unknown field "database"`},
		{"wrong type", `{"sources":[{"writeKey":7,"settings":{}}]}`, `want a JSON string`},
		{"no credentials", `{"sources":[{"name":"a","settings":{}}]}`, `sources[0] (a): needs "writeKey"`},
		{"both key forms", `{"sources":[{"writeKey":"k","writeKeyEnv":"WEB_KEY","settings":{}}]}`, `not both`},
		{"unset env", `{"sources":[{"writeKeyEnv":"NOPE","settings":{}}]}`, `NOPE is not set`},
		{"empty env", `{"sources":[{"writeKeyEnv":"EMPTY","settings":{}}]}`, `EMPTY is not set`},
		{"bad env name", `{"sources":[{"writeKeyEnv":"A=B","settings":{}}]}`, `not an environment variable name`},
		{"no settings", `{"sources":[{"writeKey":"k"}]}`, `"settings" is missing`},
		{"no password", `{"sources":[{"writeKey":"k","settings":{"host":"h","username":"u","dbName":"d"}}]}`, `'password'`},
		{"bad port", `{"sources":[{"writeKey":"k","settings":{"host":"h","port":"0","username":"u","password":"p","dbName":"d"}}]}`, `Port must be`},
		{"bad mapping", `{"sources":[{"writeKey":"k","settings":{},"mapping":[1]}]}`, `"mapping" must be a JSON object`},
		{"bad schema", `{"sources":[{"writeKey":"k","settings":{},"schema":"wide"}]}`, `"schema"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseServeConfig([]byte(tc.json), env)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), serveTestPassword)
		})
	}
}

// TestServeExampleConfig checks the documented example file.
func TestServeExampleConfig(t *testing.T) {
	env := serveEnvOf(map[string]string{"S2_PASSWORD": "pw", "WEBSITE_WRITE_KEY": "k1", "WEBSITE_WEBHOOK_SECRET": "s1", "APP_WRITE_KEY": "k2"})
	srcs, err := loadServeConfig(filepath.Join("..", "..", "docs", "serve.example.json"), env)
	require.NoError(t, err)
	require.Len(t, srcs, 3)
	for _, s := range srcs {
		assert.NotEmpty(t, s.name)
		assert.NotEmpty(t, s.writeKey)
	}
	assert.Equal(t, 5*time.Minute, srcs[0].webhookTolerance)
}

func TestServeConfigWebhookOptions(t *testing.T) {
	env := serveEnvOf(nil)
	srcs, err := parseServeConfig([]byte(`{"sources":[{"name":"a","webhookSecret":"s","webhookFirstElementSignature":true,"settings":{}}]}`), env)
	require.NoError(t, err)
	assert.True(t, srcs[0].webhookFirstElement)
	for js, want := range map[string]string{
		`{"sources":[{"name":"a","webhookSecret":"s","webhookTolerance":"soon","settings":{}}]}`:      `"webhookTolerance": want a duration`,
		`{"sources":[{"name":"a","webhookSecret":"s","webhookTolerance":"-1m","settings":{}}]}`:       `"webhookTolerance": want a duration`,
		`{"sources":[{"name":"a","writeKey":"k","webhookFirstElementSignature":true,"settings":{}}]}`: `need "webhookSecret"`,
	} {
		_, err := parseServeConfig([]byte(js), env)
		assert.ErrorContains(t, err, want, js)
	}
}

func TestLoadServeConfigLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(path, make([]byte, maxServeConfigBytes+1), 0o600))
	_, err := loadServeConfig(path, serveEnvOf(nil))
	assert.ErrorContains(t, err, "larger than")
}

// FuzzParseServeConfig checks that no config file makes the parser panic,
// and that what it accepts is complete.
func FuzzParseServeConfig(f *testing.F) {
	f.Add([]byte(`{"sources":[{"name":"a","writeKey":"k","settings":{}}]}`))
	f.Add([]byte(`{"sources":[{"name":"web","writeKeyEnv":"K","passwordEnv":"P","settings":{"host":"h","username":"u","dbName":"d"},"mapping":{"a":{"@path":"$.b"}},"schema":"reference"}]}`))
	f.Add([]byte(`{"sources":[{"webhookSecret":"s","settings":{"host":"h","port":"99999"}}]}`))
	f.Add([]byte(`[`))
	env := serveEnvOf(map[string]string{"K": "key", "P": "pw"})
	f.Fuzz(func(t *testing.T, data []byte) {
		srcs, err := parseServeConfig(data, env)
		if err != nil {
			return
		}
		if len(srcs) == 0 {
			t.Fatal("accepted a config with no source")
		}
		for _, s := range srcs {
			if s.writeKey == "" && s.webhookSecret == "" {
				t.Fatalf("accepted a source without credentials: %+v", s)
			}
			if s.settings.Host != "" {
				if err := s.settings.Validate(); err != nil {
					t.Fatalf("accepted invalid settings: %v", err)
				}
			}
		}
	})
}
