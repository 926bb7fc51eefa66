package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
)

const testToken = "tok_SECRET_actions_c0de"

// actionsServer serves the actions-cli routes of a server with Actions.
func actionsServer(t *testing.T, cfg ActionsConfig) (*httptest.Server, *Actions) {
	t.Helper()
	a, err := NewActions(cfg)
	require.NoError(t, err)
	s, err := endpoint.New(endpoint.Config{Actions: a, ActionsToken: testToken})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		_ = s.Shutdown(context.Background())
	})
	return ts, a
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewBufferString(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func settingsJSON(t *testing.T, s singlestore.Settings) string {
	t.Helper()
	b, err := json.Marshal(s)
	require.NoError(t, err)
	return string(b)
}

func TestActionsManifest(t *testing.T) {
	ts, _ := actionsServer(t, ActionsConfig{})
	resp, err := http.Get(ts.URL + "/manifest")
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	want, err := singlestore.Manifest()
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, string(want), string(got))
}

func TestActionsAuthenticate(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := startEmulator(t, b, emulator.Faults{})
			ts, _ := actionsServer(t, ActionsConfig{Connection: httpConn()})

			status, body := post(t, ts.URL+"/authenticate", settingsJSON(t, d.settings("auth_table")))
			assert.Equal(t, 200, status)
			assert.JSONEq(t, `{"ok":true}`, string(body))
			assert.Equal(t, map[string]int{}, d.counts(t, "auth_table"), "the table was created")

			s := d.settings("auth_table")
			s.DBName = "missing_db_s2"
			status, body = post(t, ts.URL+"/authenticate", settingsJSON(t, s))
			assert.Equal(t, 200, status)
			assert.False(t, gjson.GetBytes(body, "ok").Bool())
			assert.Contains(t, gjson.GetBytes(body, "error").String(), "CREATE DATABASE `missing_db_s2`;")
			assert.Contains(t, gjson.GetBytes(body, "fields.dbName").String(), "does not exist")
			assert.NotContains(t, string(body), testPassword)
		})
	}
}

func TestActionsAuthenticateRefusesInvalidSettings(t *testing.T) {
	ts, _ := actionsServer(t, ActionsConfig{Connection: httpConn()})
	status, body := post(t, ts.URL+"/authenticate", `{"port":"70000","password":"`+testPassword+`"}`)
	assert.Equal(t, 200, status)
	assert.False(t, gjson.GetBytes(body, "ok").Bool())
	assert.Contains(t, gjson.GetBytes(body, "fields.$").String(), "'host'", "%s", body)
	assert.NotContains(t, string(body), testPassword)

	status, body = post(t, ts.URL+"/authenticate", `{"host":"h","username":"u","password":"p","dbName":"a.b"}`)
	assert.Equal(t, 200, status)
	assert.True(t, gjson.GetBytes(body, "fields.dbName").Exists(), "%s", body)
}

func TestActionsSendWritesThroughSinks(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := startEmulator(t, b, emulator.Faults{})
			d.createTable(t, "sent", singlestore.SchemaDedupe)
			ts, acts := actionsServer(t, ActionsConfig{Connection: httpConn()})
			settings := settingsJSON(t, d.settings("sent"))

			body := fmt.Sprintf(`{"payload":[%s,{"type":"track","messageId":"s-2","timestamp":"2025-07-07T10:19:25Z","userId":"u"},%s],"settings":%s}`,
				track("s-1"), track("s-3"), settings)
			for range 2 { // a redelivery writes nothing twice
				status, out := post(t, ts.URL+"/send", body)
				require.Equal(t, 200, status, "%s", out)
				nodes := gjson.GetBytes(out, "multistatus").Array()
				require.Len(t, nodes, 3)
				assert.Equal(t, int64(200), nodes[0].Get("status").Int())
				assert.Equal(t, "s-1", nodes[0].Get("sent.messageid").String())
				assert.Equal(t, int64(400), nodes[1].Get("status").Int())
				assert.Equal(t, "PAYLOAD_VALIDATION_FAILED", nodes[1].Get("errortype").String())
				assert.Equal(t, int64(200), nodes[2].Get("status").Int())
			}
			// A mapping of its own: userId from anonymousId.
			status, out := post(t, ts.URL+"/send", fmt.Sprintf(`{"payload":{"type":"page","name":"Home","messageId":"s-4","timestamp":"2025-07-07T10:19:25Z","anonymousId":"anon-9"},"settings":%s,"mapping":{"userId":{"@path":"$.anonymousId"}}}`, settings))
			require.Equal(t, 200, status, "%s", out)
			assert.Equal(t, "anon-9", gjson.GetBytes(out, "multistatus.0.sent.userId").String())

			assert.Equal(t, map[string]int{"s-1": 1, "s-3": 1, "s-4": 1}, d.counts(t, "sent"))
			assert.Equal(t, 1, acts.Clients(), "sinks of the same database share a client")
		})
	}
}

func TestActionsSendRefusesBadConfiguration(t *testing.T) {
	ts, _ := actionsServer(t, ActionsConfig{Connection: httpConn()})
	good := `{"host":"127.0.0.1","port":"1","username":"u","password":"` + testPassword + `","dbName":"db"}`
	for name, body := range map[string]string{
		"settings":     `{"payload":` + string(track("x")) + `,"settings":{"host":"h"}}`,
		"mapping":      `{"payload":` + string(track("x")) + `,"settings":` + good + `,"mapping":{"event":{"@oops":1}}}`,
		"subscription": `{"payload":` + string(track("x")) + `,"settings":` + good + `,"subscription":"type = \"track\" and ("}`,
	} {
		status, out := post(t, ts.URL+"/send", body)
		assert.Equal(t, 200, status, name)
		assert.Equal(t, int64(400), gjson.GetBytes(out, "multistatus.0.status").Int(), "%s: %s", name, out)
		assert.Equal(t, "PAYLOAD_VALIDATION_FAILED", gjson.GetBytes(out, "multistatus.0.errortype").String(), name)
		assert.NotContains(t, string(out), testPassword, name)
	}
}

func TestActionsKeepBoundedClients(t *testing.T) {
	a, err := NewActions(ActionsConfig{Connection: httpConn(), MaxClients: 2})
	require.NoError(t, err)
	for i := range 5 {
		_, err := a.Sink([]byte(fmt.Sprintf(`{"host":"127.0.0.%d","username":"u","password":"p","dbName":"db"}`, i+1)), nil, "")
		require.NoError(t, err)
	}
	assert.Equal(t, 2, a.Clients())
	_, err = NewActions(ActionsConfig{MaxClients: -1})
	assert.Error(t, err)
}

// pingServer answers GET /ping with "pong" and reports, on the returned
// channel, every connection closed: a client that pinged keeps one idle
// connection until its idle connections are closed.
func pingServer(t *testing.T) (host, port string, closed <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 64)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "pong")
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			ch <- struct{}{}
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	host, port, err := net.SplitHostPort(ts.Listener.Addr().String())
	require.NoError(t, err)
	return host, port, ch
}

// TestActionsClientCacheEvictsLeastRecentlyUsed drives the client cache
// through sequences of settings (named by database) and checks which
// clients are kept, which were made, and that every client pushed out was
// retired from the metrics and had its idle connection closed.
func TestActionsClientCacheEvictsLeastRecentlyUsed(t *testing.T) {
	for _, tc := range []struct {
		name    string
		max     int
		seq     []string
		made    []string // databases of the clients made, in order
		kept    []string
		retired []int // indexes in made
	}{
		{name: "within the bound", max: 3, seq: []string{"a", "b", "c"}, made: []string{"a", "b", "c"}, kept: []string{"a", "b", "c"}},
		{name: "the same settings share a client", max: 2, seq: []string{"a", "a", "a"}, made: []string{"a"}, kept: []string{"a"}},
		{name: "beyond the bound the oldest goes", max: 2, seq: []string{"a", "b", "c"}, made: []string{"a", "b", "c"}, kept: []string{"b", "c"}, retired: []int{0}},
		{name: "a touched client stays", max: 2, seq: []string{"a", "b", "a", "c"}, made: []string{"a", "b", "c"}, kept: []string{"a", "c"}, retired: []int{1}},
		{name: "an evicted client is made again", max: 2, seq: []string{"a", "b", "c", "a"}, made: []string{"a", "b", "c", "a"}, kept: []string{"c", "a"}, retired: []int{0, 1}},
		{name: "a bound of one", max: 1, seq: []string{"a", "b", "b", "a"}, made: []string{"a", "b", "a"}, kept: []string{"a"}, retired: []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, closed := pingServer(t)
			m := NewClientMetrics()
			a, err := NewActions(ActionsConfig{Connection: Connection{Scheme: "http", Timeout: 10 * time.Second, Metrics: m}, MaxClients: tc.max})
			require.NoError(t, err)
			settings := func(db string) singlestore.Settings {
				return singlestore.Settings{Host: host, Port: port, Username: "u", Password: testPassword, DBName: db}
			}
			var made []*dataapi.Client
			var madeDB []string
			for _, db := range tc.seq {
				c, err := a.client(settings(db))
				require.NoError(t, err)
				if !slices.Contains(made, c) {
					made, madeDB = append(made, c), append(madeDB, db)
				}
				require.NoError(t, c.Ping(context.Background()))
			}
			assert.Equal(t, tc.made, madeDB, "clients made")
			assert.Equal(t, len(tc.kept), a.Clients())
			for _, db := range tc.kept {
				assert.True(t, a.clients.Contains(clientKey(settings(db))), "%s kept", db)
			}
			m.mu.Lock()
			var retired []int
			for i, c := range made {
				if _, live := m.live[c]; !live {
					retired = append(retired, i)
				}
			}
			m.mu.Unlock()
			assert.Equal(t, tc.retired, retired, "clients retired")
			for range tc.retired {
				select {
				case <-closed:
				case <-time.After(10 * time.Second):
					t.Fatal("an evicted client kept its idle connection")
				}
			}
		})
	}
}

func TestActionsClientKeySeparatesSettings(t *testing.T) {
	base := singlestore.Settings{Host: "h", Port: "1", Username: "u", Password: "p", DBName: "d"}
	other := base
	other.Password = "q"
	assert.NotEqual(t, clientKey(base), clientKey(other), "a password of its own")
	other = base
	other.Host, other.Port = "h1", ""
	assert.NotEqual(t, clientKey(base), clientKey(other), "parts do not run into each other")
	other = base
	other.TableName = "t"
	assert.Equal(t, clientKey(base), clientKey(other), "the table is not the connection's")
}

func TestActionsConcurrentMissesMakeOneClient(t *testing.T) {
	m := NewClientMetrics()
	a, err := NewActions(ActionsConfig{Connection: Connection{Scheme: "http", Metrics: m}, MaxClients: 2})
	require.NoError(t, err)
	s := singlestore.Settings{Host: "127.0.0.1", Port: "1", Username: "u", Password: "p", DBName: "d"}
	const n = 8
	got := make([]*dataapi.Client, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := a.client(s)
			assert.NoError(t, err)
			got[i] = c
		})
	}
	wg.Wait()
	for _, c := range got {
		assert.Same(t, got[0], c)
	}
	m.mu.Lock()
	assert.Len(t, m.live, 1, "one client made")
	m.mu.Unlock()
}
