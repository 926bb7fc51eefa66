package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/internal/adapter"
	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

// The intake suite attacks the hosted endpoint's routes the way an
// unauthenticated stranger, or a sender holding a public write key, can:
// forged webhook arrays, slow bodies and slow or huge headers, and bodies
// built to expand. Every test serves internal/endpoint with Serve (its
// connection limit, header limit and timeouts) on loopback, is bounded in
// time and connections, and stops by itself. Figures (wall time, peak RSS
// above the start) are logged, never asserted as durations.

const (
	intakeKey    = "wk_SECRET_intake_3c1d"
	intakeSecret = "whsec_SECRET_intake_8e2f"
)

// serveIntake serves cfg with Serve on loopback until the test ends and
// returns its base URL.
func serveIntake(t *testing.T, cfg endpoint.Config) string {
	t.Helper()
	srv, err := endpoint.New(cfg)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		<-done
	})
	return "http://" + ln.Addr().String()
}

// intakeTable is an emulator-backed Writer sink on a table of its own.
func intakeTable(t *testing.T, table string) (*liveAPI, *writerSink) {
	t.Helper()
	a := newLiveAPI(t, emulator.Config{}, nil)
	return a, &writerSink{w: newWriter(t, a.reader(), a.client(nil), table, 100)}
}

func postRaw(t *testing.T, c *http.Client, url string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, string(b)
}

func hookEvent(typ, id, user string) string {
	return fmt.Sprintf(`{"type":%q,"messageId":%q,"userId":%q,"event":"Signed Up","timestamp":"2026-03-01T12:00:00Z"}`, typ, id, user)
}

// TestIntakeForgedWebhookArray: a signed array cannot be extended, cut or
// changed; a first-element signature is refused unless the source opts in;
// a timestamped signature cannot be replayed past the tolerance.
func TestIntakeForgedWebhookArray(t *testing.T) {
	a, sink := intakeTable(t, "forgery")
	base := serveIntake(t, endpoint.Config{Sources: []endpoint.Source{
		{Name: "hooks", WebhookSecret: intakeSecret, Sink: sink},
		{Name: "timed", WebhookSecret: intakeSecret, WebhookTolerance: time.Minute, Sink: sink},
	}})
	c := &http.Client{Timeout: 30 * time.Second}
	url := base + "/webhook/hooks"
	first := hookEvent("track", "legit-1", "alice")
	signed := "[" + first + "," + hookEvent("page", "legit-2", "alice") + "]"
	sig := func(b string) map[string]string {
		return map[string]string{endpoint.SignatureHeader: endpoint.Sign([]byte(intakeSecret), []byte(b))}
	}
	forged := []struct {
		name, body string
		header     map[string]string
	}{
		{"element appended", strings.TrimSuffix(signed, "]") + "," + hookEvent("identify", "forged-1", "attacker") + "]", sig(signed)},
		{"element replaced", "[" + first + "," + hookEvent("identify", "forged-2", "attacker") + "]", sig(signed)},
		{"element dropped", "[" + first + "]", sig(signed)},
		{"first-element signature", "[" + first + "," + hookEvent("identify", "forged-3", "attacker") + "]", sig(first)},
		{"whitespace added", signed + " ", sig(signed)},
	}
	for _, f := range forged {
		status, body := postRaw(t, c, url, []byte(f.body), f.header)
		assert.Equal(t, http.StatusUnauthorized, status, "%s: %s", f.name, body)
	}
	status, body := postRaw(t, c, url, []byte(signed), sig(signed))
	require.Equal(t, http.StatusOK, status, body)

	// Replays: fresh is accepted, a copy sent after the tolerance is not.
	now := time.Now()
	for _, tc := range []struct {
		at   time.Time
		id   string
		want int
	}{{now, "timed-fresh", 200}, {now.Add(-2 * time.Minute), "timed-replayed", 401}} {
		ev := hookEvent("track", tc.id, "bob")
		ts := strconv.FormatInt(tc.at.Unix(), 10)
		status, body := postRaw(t, c, base+"/webhook/timed", []byte(ev), map[string]string{
			endpoint.SignatureHeader: endpoint.SignTimestamp([]byte(intakeSecret), ts, []byte(ev)), endpoint.TimestampHeader: ts})
		assert.Equal(t, tc.want, status, "%s: %s", tc.id, body)
	}
	assert.Equal(t, map[string]int{"legit-1": 1, "legit-2": 1, "timed-fresh": 1}, countByID(t, a.reader(), "forgery"),
		"only the authentic events are in the table")
}

// TestIntakeUnsignedWebhookArray: a 4 MB array with a wrong signature (and
// one with none) is refused 401 with its bytes checked only by the HMAC;
// the figures are the wall time of the refusal and the peak RSS above the
// start, one request alone and four at once.
func TestIntakeUnsignedWebhookArray(t *testing.T) {
	var writes atomic.Int64
	sink := endpoint.SinkFunc(func(_ context.Context, events [][]byte) []endpoint.Result {
		writes.Add(int64(len(events)))
		out := make([]endpoint.Result, len(events))
		for i := range out {
			out[i] = endpoint.Result{Status: http.StatusOK}
		}
		return out
	})
	base := serveIntake(t, endpoint.Config{Sources: []endpoint.Source{{Name: "hooks", WebhookSecret: intakeSecret, Sink: sink}}})
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; b.Len() < endpoint.DefaultMaxBodyBytes-200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(hookEvent("identify", fmt.Sprintf("flood-%07d", i), "attacker"))
	}
	b.WriteByte(']')
	body := []byte(b.String())
	require.LessOrEqual(t, len(body), endpoint.DefaultMaxBodyBytes)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	bogus := map[string]string{endpoint.SignatureHeader: strings.Repeat("ab", 20)}
	postRaw(t, c, base+"/webhook/hooks", []byte(`[]`), bogus) // warm the connection pool

	// The wall time of one refusal, median of 5, against the same-run time
	// of sending the same body to a handler that only reads it.
	reader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer reader.Close()
	median := func(url string) time.Duration {
		var d []time.Duration
		for range 5 {
			start := time.Now()
			status, _ := postRaw(t, c, url, body, bogus)
			d = append(d, time.Since(start))
			assert.Equal(t, http.StatusUnauthorized, status)
		}
		slices.Sort(d)
		return d[2]
	}
	base0, refusal := median(reader.URL), median(base+"/webhook/hooks")
	t.Logf("4.0 MB array with a wrong signature: refused in %v (median of 5); reading the same body on loopback and answering: %v; ratio %.2f",
		refusal.Round(100*time.Microsecond), base0.Round(100*time.Microsecond), float64(refusal)/float64(base0))

	for _, tc := range []struct {
		name   string
		header map[string]string
		n      int
		limit  int64 // peak RSS above the start
	}{
		{"wrong signature, one", bogus, 1, 50 << 20},
		{"wrong signature, four at once", bogus, 4, 100 << 20},
		{"no signature, one", nil, 1, 50 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startPeak(t)
			start := time.Now()
			var wg sync.WaitGroup
			statuses := make([]int, tc.n)
			for i := range tc.n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i], _ = postRaw(t, c, base+"/webhook/hooks", body, tc.header)
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			extra := p.extra()
			for _, s := range statuses {
				// 503: the unauthenticated budget turned one away (four at once).
				assert.Contains(t, []int{http.StatusUnauthorized, http.StatusServiceUnavailable}, s)
			}
			t.Logf("%d × %.1f MB unsigned array: refused in %v, peak RSS +%.1f MB, statuses %v", tc.n, mb(int64(len(body))), elapsed.Round(time.Millisecond), mb(extra), statuses)
			assert.Less(t, extra, tc.limit, "peak RSS above the start")
		})
	}
	assert.Zero(t, writes.Load(), "nothing unsigned reaches the sink")
}

// probe sends n legitimate /v1/track events, one every interval, each on
// a new connection and in a goroutine of its own started at its time (so a
// slow answer, or a starved scheduler, never drops a probe), and returns
// the status of each once all are answered; 0 for a request that failed.
func probe(base string, n int, interval time.Duration) []int {
	c := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			ev := hookEvent("track", fmt.Sprintf("probe-%04d-%d", i, time.Now().UnixNano()), "probe")
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/track", strings.NewReader(ev))
			req.SetBasicAuth(intakeKey, "")
			resp, err := c.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	return statuses
}

// flood runs n attackers until stop is closed; each calls attack with a
// fresh connection and dials again when the server drops it.
func flood(n int, addr string, stop <-chan struct{}, attack func(c net.Conn, stop <-chan struct{})) (wait func() (dials int64)) {
	var wg sync.WaitGroup
	var dials atomic.Int64
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				dials.Add(1)
				attack(c, stop)
				_ = c.Close()
			}
		}()
	}
	return func() int64 { wg.Wait(); return dials.Load() }
}

// trickle writes chunk to c every interval until stop is closed or the
// write fails (the server dropped the connection).
func trickle(c net.Conn, chunk []byte, interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

// TestIntakeSlowFloods: 200 connections that upload bodies slowly without
// valid credentials, 200 that send their headers slowly, and 300 that send
// a megabyte of headers each, each flood lasting while a legitimate sender
// posts 15 events, one every 200 ms, each on a new connection: every probe
// is answered 200 and written.
func TestIntakeSlowFloods(t *testing.T) {
	a, sink := intakeTable(t, "floods")
	base := serveIntake(t, endpoint.Config{
		Sources:           []endpoint.Source{{Name: "app", WriteKey: intakeKey, WebhookSecret: intakeSecret, Sink: sink}},
		ReadHeaderTimeout: 2 * time.Second,
	})
	addr := strings.TrimPrefix(base, "http://")
	heads := []string{
		"POST /webhook/app HTTP/1.1\r\nHost: x\r\nX-Signature: " + strings.Repeat("00", 20) + "\r\nContent-Length: 4000000\r\n\r\n[",
		"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 500000\r\n\r\n{\"batch\":[",
		"POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Length: 32000\r\n\r\n{\"writeKey\":\"guess\",",
		"POST /webhook/app HTTP/1.1\r\nHost: x\r\nX-Signature: 00\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	}
	huge := []byte("POST /v1/track HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 1<<20) + "\r\n\r\n")
	floods := []struct {
		name   string
		n      int
		attack func(i *atomic.Int64) func(c net.Conn, stop <-chan struct{})
	}{
		{"slow unauthenticated bodies", 200, func(i *atomic.Int64) func(net.Conn, <-chan struct{}) {
			return func(c net.Conn, stop <-chan struct{}) {
				if _, err := c.Write([]byte(heads[int(i.Add(1))%len(heads)])); err != nil {
					return
				}
				trickle(c, bytes.Repeat([]byte(" "), 64), 100*time.Millisecond, stop)
			}
		}},
		{"slow headers", 200, func(*atomic.Int64) func(net.Conn, <-chan struct{}) {
			return func(c net.Conn, stop <-chan struct{}) {
				if _, err := c.Write([]byte("POST /v1/track HTTP/1.1\r\nHost: x\r\n")); err != nil {
					return
				}
				trickle(c, []byte("X-Slow: 1\r\n"), 100*time.Millisecond, stop)
			}
		}},
		{"a megabyte of headers", 300, func(*atomic.Int64) func(net.Conn, <-chan struct{}) {
			return func(c net.Conn, stop <-chan struct{}) {
				_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
				_, _ = c.Write(huge)
				_, _ = io.Copy(io.Discard, io.LimitReader(c, 4096)) // the 431, then the server closes
				// Dial again a little later: 300 at once, not a CPU loop.
				select {
				case <-stop:
				case <-time.After(100 * time.Millisecond):
				}
			}
		}},
	}
	probes := 15 // one every 200 ms: three seconds of flood
	if testing.Short() {
		probes = 5
	}
	for _, f := range floods {
		t.Run(f.name, func(t *testing.T) {
			p := startPeak(t)
			stop := make(chan struct{})
			var counter atomic.Int64
			wait := flood(f.n, addr, stop, f.attack(&counter))
			time.Sleep(200 * time.Millisecond) // let the flood take hold
			statuses := probe(base, probes, 200*time.Millisecond)
			close(stop)
			dials := wait()
			extra := p.extra()
			t.Logf("%s: %d attackers, %d connections made; %d probes, statuses %v; peak RSS +%.1f MB", f.name, f.n, dials, len(statuses), statuses, mb(extra))
			for i, s := range statuses {
				assert.Equal(t, http.StatusOK, s, "probe %d", i)
			}
			assert.Less(t, extra, int64(200<<20), "peak RSS above the start")
		})
	}
	n := 0
	for id, c := range countByID(t, a.reader(), "floods") {
		assert.True(t, strings.HasPrefix(id, "probe-"), "only probes are written: %s", id)
		assert.Equal(t, 1, c, id)
		n++
	}
	assert.GreaterOrEqual(t, n, 2*probes, "every probe is in the table")
}

// TestIntakeBatchAmplification: a 500 KB /v1/batch whose 31 KB top-level
// context would be merged into each of its ~7,600 events (about 240 MB of
// copies). By default it is refused 413 before any copy; with the bound
// off the events are merged a group at a time and all written. Three such
// requests at once stay under 200 MB of peak RSS either way.
func TestIntakeBatchAmplification(t *testing.T) {
	ctx := `{"library":{"name":"analytics.js"},"pad":"` + strings.Repeat("c", 31<<10) + `"}`
	var b strings.Builder
	b.WriteString(`{"context":` + ctx + `,"batch":[`)
	n := 0
	for ; b.Len() < endpoint.DefaultMaxBatchBytes-100; n++ {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"track","event":"e","userId":"u","messageId":"amp-%05d"}`, n)
	}
	b.WriteString("]}")
	body := []byte(b.String())
	require.LessOrEqual(t, len(body), endpoint.DefaultMaxBatchBytes)

	var events, withContext atomic.Int64
	sink := endpoint.SinkFunc(func(_ context.Context, evs [][]byte) []endpoint.Result {
		out := make([]endpoint.Result, len(evs))
		for i, ev := range evs {
			events.Add(1)
			if len(gjson.GetBytes(ev, "context.pad").Str) == 31<<10 {
				withContext.Add(1)
			}
			out[i] = endpoint.Result{Status: http.StatusOK}
		}
		return out
	})
	c := &http.Client{Timeout: 2 * time.Minute}
	auth := map[string]string{"Authorization": "Basic " + basicValue(intakeKey)}
	for _, tc := range []struct {
		name   string
		bound  int64
		status int
	}{
		{"default bound: refused", 0, http.StatusRequestEntityTooLarge},
		{"no bound: merged a group at a time", -1, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events.Store(0)
			withContext.Store(0)
			base := serveIntake(t, endpoint.Config{
				Sources:               []endpoint.Source{{Name: "app", WriteKey: intakeKey, Sink: sink}},
				MaxExpandedBatchBytes: tc.bound, SinkTimeout: time.Minute, WriteTimeout: 2 * time.Minute,
			})
			p := startPeak(t)
			start := time.Now()
			var wg sync.WaitGroup
			statuses := make([]int, 3)
			for i := range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					statuses[i], _ = postRaw(t, c, base+"/v1/batch", body, auth)
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			extra := p.extra()
			t.Logf("3 × %.0f KB batch, %d events, %.0f KB context (%.0f MB merged each): %v in %v, peak RSS +%.1f MB",
				float64(len(body))/1024, n, float64(len(ctx))/1024, mb(int64(n*len(ctx))), statuses, elapsed.Round(time.Millisecond), mb(extra))
			for _, s := range statuses {
				assert.Equal(t, tc.status, s)
			}
			if tc.status == http.StatusOK {
				assert.Equal(t, int64(3*n), events.Load())
				assert.Equal(t, int64(3*n), withContext.Load(), "every event has the batch's context")
			} else {
				assert.Zero(t, events.Load())
			}
			assert.Less(t, extra, int64(200<<20), "peak RSS above the start")
		})
	}
}

func basicValue(key string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
	req.SetBasicAuth(key, "")
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// TestIntakeSendAmplification: a 4 MB /send payload of numbers is refused
// whole (more events than MaxRequestEvents); a 4 MB payload of 9,000 events
// (half of them without a timestamp, which the destination refuses) written through the SingleStore destination gets a
// multistatus answer under 10 MB.
func TestIntakeSendAmplification(t *testing.T) {
	a := newLiveAPI(t, emulator.Config{}, nil)
	acts, err := adapter.NewActions(adapter.ActionsConfig{Connection: adapter.Connection{Scheme: "http"}})
	require.NoError(t, err)
	base := serveIntake(t, endpoint.Config{Actions: acts, ActionsToken: intakeKey, SinkTimeout: time.Minute, WriteTimeout: 2 * time.Minute})
	host, port, _ := net.SplitHostPort(a.addr)
	settings := fmt.Sprintf(`{"host":%q,"port":%q,"username":"root","password":"x","dbName":%q,"tableName":"send_amp"}`, host, port, database)
	c := &http.Client{Timeout: 2 * time.Minute}
	bearer := map[string]string{"Authorization": "Bearer " + intakeKey}
	status, body := postRaw(t, c, base+"/authenticate", []byte(settings), bearer)
	require.Equal(t, http.StatusOK, status)
	require.JSONEq(t, `{"ok":true}`, body)

	numbers := `{"settings":` + settings + `,"payload":[` + strings.Repeat("1,", (endpoint.DefaultMaxBodyBytes-len(settings)-64)/2) + `1]}`
	var evs []string
	pad := strings.Repeat("x", 350)
	for i := range 9000 {
		if i%2 == 0 {
			evs = append(evs, fmt.Sprintf(`{"type":"track","event":"e","userId":"u","messageId":"send-%05d","timestamp":"2026-03-01T12:00:00Z","properties":{"p":%q}}`, i, pad))
		} else {
			evs = append(evs, fmt.Sprintf(`{"type":"track","event":"e","messageId":"send-%05d","properties":{"p":%q}}`, i, pad)) // no timestamp
		}
	}
	events := `{"settings":` + settings + `,"payload":[` + strings.Join(evs, ",") + `]}`
	for _, tc := range []struct {
		name   string
		body   string
		status int
	}{
		{"numbers", numbers, http.StatusRequestEntityTooLarge},
		{"events", events, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.LessOrEqual(t, len(tc.body), endpoint.DefaultMaxBodyBytes)
			p := startPeak(t)
			start := time.Now()
			status, answer := postRaw(t, c, base+"/send", []byte(tc.body), bearer)
			elapsed := time.Since(start)
			extra := p.extra()
			t.Logf("%.1f MB /send of %s: %d, answer %.2f MB, in %v, peak RSS +%.1f MB", mb(int64(len(tc.body))), tc.name, status, mb(int64(len(answer))), elapsed.Round(time.Millisecond), mb(extra))
			require.Equal(t, tc.status, status, "%.300s", answer)
			assert.Less(t, len(answer), 10<<20, "the answer stays under 10 MB")
			if tc.status != http.StatusOK {
				// Written events also cost the in-process emulator's engine,
				// so only the refusal's figure is the endpoint's alone.
				assert.Less(t, extra, int64(200<<20), "peak RSS above the start")
			}
			if status == http.StatusOK {
				nodes := gjson.Get(answer, "multistatus").Array()
				require.Len(t, nodes, 9000)
				ok := 0
				for _, n := range nodes {
					if n.Get("status").Int() == 200 {
						ok++
					}
				}
				assert.Equal(t, 4500, ok, "the valid half is written")
			}
		})
	}
	assert.Len(t, countByID(t, a.reader(), "send_amp"), 4500)
}
