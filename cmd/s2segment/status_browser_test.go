//go:build browser

// The headless-browser test is behind the browser build tag: its driver
// (chromedp) is the largest test-only dependency, and building it in every
// `go test ./...` would cost a fresh clone half a minute for a test that
// needs a browser anyway. Run it with
//
//	go test -tags browser -run '^TestStatusPageInBrowser$' ./cmd/s2segment

package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath finds a Chromium to drive: $S2_CHROMIUM, or chromium on
// PATH (Debian's package).
func chromiumPath() string {
	if p := os.Getenv("S2_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where the browser test keeps its screenshot:
// $S2_ARTIFACT_DIR, or a directory under the system's temporary one that
// outlives the test.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("S2_ARTIFACT_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "s2segment-artifacts")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// metricSums reads /metrics and adds up s2segment_server_events_total by
// result, and the count of database writes.
func metricSums(t *testing.T, url string) (map[string]float64, float64) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sums := map[string]float64{}
	writes := math.NaN()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "s2segment_server_events_total{"); ok {
			labels, value, _ := strings.Cut(rest, "} ")
			v, err := strconv.ParseFloat(value, 64)
			require.NoError(t, err, line)
			for _, l := range strings.Split(labels, ",") {
				if r, ok := strings.CutPrefix(l, `result="`); ok {
					sums[strings.TrimSuffix(r, `"`)] += v
				}
			}
		}
		if v, ok := strings.CutPrefix(line, "s2segment_server_sink_write_duration_seconds_count "); ok {
			writes, err = strconv.ParseFloat(v, 64)
			require.NoError(t, err, line)
		}
	}
	require.NoError(t, sc.Err())
	return sums, writes
}

// TestStatusPageInBrowser loads serve's status page in a real headless
// Chromium: its figures must match /metrics, the try form must show the
// row, and a screenshot is kept. It skips when no Chromium is installed,
// unless S2_REQUIRE_BROWSER=1 (CI), where that is a failure.
func TestStatusPageInBrowser(t *testing.T) {
	chrome := chromiumPath()
	if chrome == "" {
		if os.Getenv("S2_REQUIRE_BROWSER") == "1" {
			t.Fatal("S2_REQUIRE_BROWSER=1 but no Chromium found (install Debian's chromium package or set S2_CHROMIUM)")
		}
		t.Skip("no Chromium installed (Debian: apt-get install chromium); the status page's browser test is skipped")
	}

	r := serveStart(t, "--write-key", serveTestKey, "--admin-token", serveTestToken,
		"--subscription", `type = "track" or type = "identify"`)
	auth := basicAuth(serveTestKey)
	for i := range 5 {
		status, body := servePost(t, http.DefaultClient, r.url+"/v1/track", serveEvent("track", fmt.Sprintf("st-w-%d", i)), auth)
		require.Equal(t, 200, status, body)
	}
	status, body := servePost(t, http.DefaultClient, r.url+"/v1/page", serveEvent("page", "st-f-1"), auth) // not subscribed
	require.Equal(t, 200, status, body)
	for _, bad := range []string{
		`{"type":"track","event":"E","userId":"u","messageId":"st-r-1","timestamp":"yesterday"}`,
		`{"type":"track","event":"E","userId":"u","messageId":"st-r-2","properties":"not an object"}`,
	} {
		status, body := servePost(t, http.DefaultClient, r.url+"/v1/track", bad, auth)
		require.Equal(t, 200, status, body)
	}

	// Protected like the actions routes.
	resp, err := http.Get(r.url + "/status.json")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "on the main address the status page needs the admin token")

	// A profile of its own; Chromium's helper processes may still write to
	// it for a moment after the browser is closed, so it is removed with
	// a few tries rather than by t.TempDir.
	profile, err := os.MkdirTemp("", "s2segment-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() {
		for range 50 {
			if err := os.RemoveAll(profile); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the browser profile %s", profile)
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1400),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	creds := "Basic " + base64.StdEncoding.EncodeToString([]byte("operator:"+serveTestToken))
	var totals [5]string
	var sourceRow, latencyCount, failures string
	require.NoError(t, chromedp.Run(ctx,
		network.Enable(),
		network.SetExtraHTTPHeaders(network.Headers{"Authorization": creds}),
		chromedp.Navigate(r.url+"/status"),
		chromedp.WaitVisible(`body[data-loaded="true"]`, chromedp.ByQuery),
		chromedp.Text(`[data-total="received"]`, &totals[0], chromedp.ByQuery),
		chromedp.Text(`[data-total="written"]`, &totals[1], chromedp.ByQuery),
		chromedp.Text(`[data-total="filtered"]`, &totals[2], chromedp.ByQuery),
		chromedp.Text(`[data-total="rejected"]`, &totals[3], chromedp.ByQuery),
		chromedp.Text(`[data-total="failed"]`, &totals[4], chromedp.ByQuery),
		chromedp.Text(`#series-table tbody tr[data-source="default"]`, &sourceRow, chromedp.ByQuery),
		chromedp.Text(`#latency-count`, &latencyCount, chromedp.ByQuery),
		chromedp.Text(`#failures tbody`, &failures, chromedp.ByQuery),
	), "loading the page")

	sums, writes := metricSums(t, r.url)
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 64)
		require.NoError(t, err, "figure %q", s)
		return v
	}
	assert.Equal(t, 8.0, num(totals[0]), "received")
	assert.Equal(t, sums["written"], num(totals[1]), "written matches /metrics")
	assert.Equal(t, 5.0, num(totals[1]))
	assert.Equal(t, 1.0, num(totals[2]), "filtered")
	assert.Equal(t, sums["rejected"], num(totals[2])+num(totals[3]), "filtered + rejected match /metrics' rejected")
	assert.Equal(t, 2.0, num(totals[3]))
	assert.Equal(t, sums["failed"], num(totals[4]), "failed matches /metrics")
	assert.Equal(t, writes, num(latencyCount), "database writes match the write duration histogram")
	assert.Contains(t, sourceRow, "send")
	assert.Contains(t, failures, "Timestamp must be a valid date and time string")
	assert.Contains(t, failures, "Properties must be an object")

	var tried string
	require.NoError(t, chromedp.Run(ctx,
		chromedp.SetValue(`#try-event`, `{"type":"track","event":"Signed Up","userId":"user-9","messageId":"form-1","timestamp":"2026-01-01T00:00:00Z","properties":{"plan":"pro"}}`, chromedp.ByQuery),
		chromedp.Click(`#try-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#try-result[data-done="ok"]`, chromedp.ByQuery),
		chromedp.Text(`#try-result`, &tried, chromedp.ByQuery),
	), "submitting the form")
	assert.Contains(t, tried, `"match": true`)
	assert.Contains(t, tried, `"status": 200`)
	assert.Contains(t, tried, `"form-1"`, "the row holds the event's messageId")
	assert.Contains(t, tried, `Signed Up`)

	var shot []byte
	require.NoError(t, chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100) /* 100: PNG */), "taking the screenshot")
	path := filepath.Join(artifactDir(t), "status-page.png")
	require.NoError(t, os.WriteFile(path, shot, 0o644))
	t.Logf("screenshot of the status page: %s", path)
	fmt.Fprintf(os.Stderr, "status page screenshot: %s\n", path)

	for _, secret := range []string{serveTestKey, serveTestToken} {
		var html string
		require.NoError(t, chromedp.Run(ctx, chromedp.OuterHTML("html", &html, chromedp.ByQuery)))
		assert.NotContains(t, html, secret, "the page never shows secrets")
	}
	sum := 0.0
	for _, k := range []string{"written", "rejected", "failed", "abandoned"} {
		sum += sums[k]
	}
	assert.Equal(t, 8.0, sum, "every event sent is in /metrics")
}
