package endpoint

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func sendBody(host, payload string, extra ...string) []byte {
	b := `{"payload":` + payload + `,"settings":{"host":"` + host + `","password":"` + testPassword + `"}`
	for _, e := range extra {
		b += "," + e
	}
	return []byte(b + "}")
}

func TestActionsManifestAndAuthenticate(t *testing.T) {
	a := newTestActions()
	_, ts := start(t, Config{Actions: a})

	r := do(t, ts, "GET", "/manifest", nil, nil)
	require.Equal(t, 200, r.status)
	assert.JSONEq(t, string(a.Manifest()), r.body)
	assert.Equal(t, "application/json", r.header.Get("Content-Type"))

	tests := []struct {
		name string
		body string
		want string
		code int
	}{
		{"ok", `{"host":"h","password":"` + testPassword + `"}`, `{"ok":true}`, 200},
		{"refused", `{"host":"h","password":"wrong"}`, `{"ok":false,"error":"connecting: Error 1045 (28000): Access denied for user 'u'","fields":{}}`, 200},
		{"fields", `{"password":"x"}`, `{"ok":false,"error":"The root value is missing the required field 'host'.","fields":{"$":"The root value is missing the required field 'host'."}}`, 200},
		{"not an object", `[]`, `{"success":false,"message":"the body must be a JSON object"}`, 400},
		{"invalid JSON", `{`, ``, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, "POST", "/authenticate", []byte(tc.body), nil)
			assert.Equal(t, tc.code, r.status, r.body)
			if tc.want != "" {
				assert.JSONEq(t, tc.want, r.body)
			}
		})
	}
}

func TestActionsToken(t *testing.T) {
	a := newTestActions()
	_, ts := start(t, Config{Actions: a, ActionsToken: testToken})
	body := sendBody("h", `{"type":"track","messageId":"t1"}`)
	for name, h := range map[string]map[string]string{
		"none":   nil,
		"wrong":  {"Authorization": "Bearer nope"},
		"basic":  basic(testToken),
		"prefix": {"Authorization": "Bearer " + testToken[:5]},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, 401, do(t, ts, "POST", "/send", body, h).status)
			assert.Equal(t, 401, do(t, ts, "POST", "/authenticate", []byte(`{"host":"h"}`), h).status)
		})
	}
	ok := map[string]string{"Authorization": "Bearer " + testToken}
	assert.Equal(t, 200, do(t, ts, "POST", "/send", body, ok).status)
	assert.Equal(t, 200, do(t, ts, "GET", "/manifest", nil, nil).status, "the manifest is public")
}

func TestActionsSendMultistatus(t *testing.T) {
	a := newTestActions()
	_, ts := start(t, Config{Actions: a, MaxEventBytes: 256})
	payload := `[
	  {"type":"track","event":"A","messageId":"s1"},
	  {"type":"track","event":"B"},
	  "text",
	  {"type":"track","messageId":"s4","properties":{"fail":"reject"}},
	  {"type":"track","messageId":"s5","p":"` + strings.Repeat("x", 300) + `"},
	  {"type":"identify","messageId":"s6"}
	]`
	r := do(t, ts, "POST", "/send", sendBody("db1", payload, `"subscription":"type = \"track\""`), nil)
	require.Equal(t, 200, r.status, r.body)
	assert.JSONEq(t, `{"multistatus":[
	  {"status":200,"sent":{"id":"s1"}},
	  {"status":400,"errortype":"PAYLOAD_VALIDATION_FAILED","errormessage":"The root value is missing the required field 'messageid'.","errorreporter":"INTEGRATIONS"},
	  {"status":400,"errortype":"PAYLOAD_VALIDATION_FAILED","errormessage":"payload[2] must be an event object, not a string","errorreporter":"INTEGRATIONS"},
	  {"status":400,"errortype":"PAYLOAD_VALIDATION_FAILED","errormessage":"rejected s4","errorreporter":"INTEGRATIONS"},
	  {"status":413,"errortype":"PAYLOAD_TOO_LARGE","errormessage":"event 4 is 340 bytes; the limit is 256","errorreporter":"INTEGRATIONS"},
	  {"status":200,"sent":{"id":"s6"}}
	]}`, r.body)
	sink := a.sink("db1")
	require.NotNil(t, sink)
	assert.Equal(t, 2, sink.count())

	t.Run("one event object", func(t *testing.T) {
		r := do(t, ts, "POST", "/send", sendBody("db1", `{"type":"page","messageId":"s7"}`), nil)
		require.Equal(t, 200, r.status)
		assert.JSONEq(t, `{"multistatus":[{"status":200,"sent":{"id":"s7"}}]}`, r.body)
	})
	t.Run("retryable failure", func(t *testing.T) {
		r := do(t, ts, "POST", "/send", sendBody("db1", `[{"type":"track","messageId":"s8"},{"type":"track","messageId":"s9","properties":{"fail":"retry"}}]`), nil)
		require.Equal(t, 503, r.status)
		assert.Equal(t, "1", r.header.Get("Retry-After"))
		assert.JSONEq(t, `{"multistatus":[{"status":200,"sent":{"id":"s8"}},{"status":503,"errortype":"SERVICE_UNAVAILABLE","errormessage":"database unavailable","errorreporter":"INTEGRATIONS"}]}`, r.body)
	})
	t.Run("the database asks to slow down", func(t *testing.T) {
		r := do(t, ts, "POST", "/send", sendBody("db1", `[{"type":"track","messageId":"s10","properties":{"fail":"retry"}},{"type":"track","messageId":"s11","properties":{"fail":"slow"}}]`), nil)
		assert.Equal(t, 429, r.status)
		assert.Equal(t, "7", r.header.Get("Retry-After"))
	})
	t.Run("refused configuration fails every event", func(t *testing.T) {
		r := do(t, ts, "POST", "/send", sendBody("db1", `[{"type":"track","messageId":"s12"},1]`, `"mapping":{"bad":true}`), nil)
		require.Equal(t, 200, r.status)
		assert.JSONEq(t, `{"multistatus":[
		  {"status":400,"errortype":"BAD_REQUEST","errormessage":"/bad is not a valid directive.","errorreporter":"INTEGRATIONS"},
		  {"status":400,"errortype":"PAYLOAD_VALIDATION_FAILED","errormessage":"payload[1] must be an event object, not a number","errorreporter":"INTEGRATIONS"}
		]}`, r.body)
	})
	for _, tc := range []struct{ name, body, msg string }{
		{"no payload", `{"settings":{}}`, `"payload" must be`},
		{"payload a string", `{"payload":"x"}`, `"payload" must be`},
		{"settings an array", `{"payload":{},"settings":[]}`, `"settings" must be a JSON object`},
		{"mapping a string", `{"payload":{},"mapping":"m"}`, `"mapping" must be a JSON object`},
		{"subscription a number", `{"payload":{},"subscription":1}`, `"subscription" must be a string`},
		{"invalid JSON", `{"payload":`, `invalid JSON`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, ts, "POST", "/send", []byte(tc.body), nil)
			assert.Equal(t, 400, r.status)
			assert.Contains(t, gjson.Get(r.body, "message").String(), tc.msg)
		})
	}
}

func TestActionsSinkCache(t *testing.T) {
	a := newTestActions()
	s, ts := start(t, Config{Actions: a, MaxActionSinks: 2})
	post := func(host, id string) {
		t.Helper()
		r := do(t, ts, "POST", "/send", sendBody(host, `{"type":"track","messageId":"`+id+`"}`), nil)
		require.Equal(t, 200, r.status, r.body)
	}
	post("h1", "c1")
	post("h1", "c2")
	assert.Equal(t, 1, a.builds(), "the same configuration reuses its sink")
	post("h2", "c3")
	post("h3", "c4") // evicts h1, the least recently used
	assert.Equal(t, 3, a.builds())
	assert.Equal(t, 2, s.actions.len())
	post("h3", "c5")
	assert.Equal(t, 3, a.builds())
	post("h1", "c6")
	assert.Equal(t, 4, a.builds(), "an evicted configuration is built again")
	for host, ids := range map[string][]string{"h1": {"c1", "c2", "c6"}, "h2": {"c3"}, "h3": {"c4", "c5"}} {
		for _, id := range ids {
			_, ok := a.sink(host).row(id)
			assert.True(t, ok, fmt.Sprintf("%s/%s", host, id))
		}
	}
}

func TestCacheKeySeparatesParts(t *testing.T) {
	assert.NotEqual(t, cacheKey([]byte(`{"a":1}`), nil, ""), cacheKey([]byte(`{"a":`), []byte(`1}`), ""))
	assert.NotEqual(t, cacheKey(nil, []byte(`{}`), ""), cacheKey([]byte(`{}`), nil, ""))
	assert.Equal(t, cacheKey([]byte(`{}`), nil, "s"), cacheKey([]byte(`{}`), nil, "s"))
}

// TestSinkCacheEviction drives the cache through sequences of
// configurations (named by host). The first use of each committer leaves
// an event lingering for an hour in an open group: a committer pushed out
// must write it at once and leave the committers Shutdown drains, while a
// kept one goes on lingering.
func TestSinkCacheEviction(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max       int
		seq       []string
		made      []string // hosts of the committers made, in order
		kept      []string
		forgotten []int // indexes in made
	}{
		{name: "within the bound", max: 3, seq: []string{"a", "b", "c"}, made: []string{"a", "b", "c"}, kept: []string{"a", "b", "c"}},
		{name: "the same configuration shares a committer", max: 2, seq: []string{"a", "a", "a"}, made: []string{"a"}, kept: []string{"a"}},
		{name: "beyond the bound the oldest goes", max: 2, seq: []string{"a", "b", "c"}, made: []string{"a", "b", "c"}, kept: []string{"b", "c"}, forgotten: []int{0}},
		{name: "a touched committer stays", max: 2, seq: []string{"a", "b", "a", "c"}, made: []string{"a", "b", "c"}, kept: []string{"a", "c"}, forgotten: []int{1}},
		{name: "an evicted configuration is built again", max: 2, seq: []string{"a", "b", "c", "a"}, made: []string{"a", "b", "c", "a"}, kept: []string{"c", "a"}, forgotten: []int{0, 1}},
		{name: "a bound of one", max: 1, seq: []string{"a", "b", "b", "a"}, made: []string{"a", "b", "a"}, kept: []string{"a"}, forgotten: []int{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newTestActions()
			s, err := New(Config{Actions: a, MaxActionSinks: tc.max, Group: GroupConfig{Linger: time.Hour}, WriteTimeout: 2 * time.Hour})
			require.NoError(t, err)
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = s.Shutdown(ctx)
			})
			settings := func(host string) []byte { return []byte(`{"host":"` + host + `"}`) }
			var made []*committer
			var madeHost []string
			var groups []*group
			for _, host := range tc.seq {
				c, err := s.actions.get(settings(host), nil, "")
				require.NoError(t, err)
				if slices.Contains(made, c) {
					continue
				}
				ev := []byte(fmt.Sprintf(`{"type":"track","messageId":"%s-%d"}`, host, len(made)))
				// As a /send request does: counted until its group is written.
				require.True(t, s.work.enter())
				l, ok := s.actBud.acquire(int64(len(ev)))
				require.True(t, ok)
				l.retain()
				g, _ := c.submit([][]byte{ev}, int64(len(ev)), l)
				l.release()
				go func() {
					<-g.done
					s.work.done()
				}()
				made, madeHost, groups = append(made, c), append(madeHost, host), append(groups, g)
			}
			assert.Equal(t, tc.made, madeHost, "committers made")
			assert.Equal(t, len(tc.kept), s.actions.len())
			for _, host := range tc.kept {
				assert.True(t, s.actions.lru.Contains(cacheKey(settings(host), nil, "")), "%s kept", host)
			}
			var forgotten []int
			for i, c := range made {
				s.mu.Lock()
				_, tracked := s.committers[c]
				s.mu.Unlock()
				c.mu.Lock()
				draining, lingering := c.draining, c.open == groups[i]
				c.mu.Unlock()
				assert.Equal(t, !tracked, draining, "committer %d: forgotten is drained", i)
				assert.Equal(t, tracked, lingering, "committer %d: only a kept committer lingers", i)
				if !tracked {
					forgotten = append(forgotten, i)
				}
			}
			require.Equal(t, tc.forgotten, forgotten, "committers forgotten")
			for _, i := range tc.forgotten {
				<-groups[i].done // sealed at eviction, so written now
				_, ok := a.sink(madeHost[i]).row(fmt.Sprintf("%s-%d", madeHost[i], i))
				assert.True(t, ok, "the lingering event of committer %d is written", i)
			}
		})
	}
}

// gatedActions holds every Sink call until release is closed, reporting
// each on entered.
type gatedActions struct {
	*testActions
	entered chan struct{}
	release chan struct{}
}

func (a *gatedActions) Sink(settings, mapping []byte, subscription string) (Sink, error) {
	a.entered <- struct{}{}
	<-a.release
	return a.testActions.Sink(settings, mapping, subscription)
}

func TestSinkCacheBuiltConcurrentlyKeepsTheFirst(t *testing.T) {
	const n = 4
	a := &gatedActions{testActions: newTestActions(), entered: make(chan struct{}), release: make(chan struct{})}
	s, err := New(Config{Actions: a, MaxActionSinks: 2})
	require.NoError(t, err)
	got := make([]*committer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := s.actions.get([]byte(`{"host":"h"}`), nil, "")
			assert.NoError(t, err)
			got[i] = c
		})
	}
	for range n { // every caller missed and is building
		<-a.entered
	}
	close(a.release)
	wg.Wait()
	assert.Equal(t, n, a.builds())
	for _, c := range got {
		assert.Same(t, got[0], c)
	}
	assert.Equal(t, 1, s.actions.len())
	s.mu.Lock()
	assert.Len(t, s.committers, 1, "one committer made")
	s.mu.Unlock()
}
