package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenServesOverHTTP(t *testing.T) {
	l, err := Listen(context.Background(), Config{Databases: []string{"analytics"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })

	assert.Equal(t, "127.0.0.1", l.Host())
	assert.NotEmpty(t, l.Port())
	assert.Equal(t, "http://"+net.JoinHostPort(l.Host(), l.Port()), l.URL())

	resp, err := http.Get(l.URL() + "/ping")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "pong", string(body))

	req, err := http.NewRequest(http.MethodPost, l.URL()+"/api/v2/query/rows", strings.NewReader(`{"sql":"SELECT 1 AS one","database":"analytics"}`))
	require.NoError(t, err)
	req.SetBasicAuth("root", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	assert.JSONEq(t, `{"results":[{"rows":[{"one":1}]}]}`, string(body))

	assert.Equal(t, int64(2), l.Server().Stats().Requests, "the Server is the one answering")
	assert.NoError(t, l.Err(), "still serving")
	select {
	case <-l.Done():
		t.Fatal("Done is closed while serving")
	default:
	}
}

func TestLocalCloseIsIdempotentAndFreesThePort(t *testing.T) {
	l, err := Listen(context.Background(), Config{})
	require.NoError(t, err)
	addr := net.JoinHostPort(l.Host(), l.Port())
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err, "the port accepts connections while serving")
	require.NoError(t, c.Close())

	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "a second Close is a no-op")
	<-l.Done()
	assert.NoError(t, l.Err(), "Close is not a failure")

	_, err = net.Dial("tcp", addr)
	assert.Error(t, err, "after Close the port refuses connections")
	_, err = l.Server().backend.acquire(DefaultDatabase)
	assert.ErrorIs(t, err, errClosed, "Close closes the Server")
}

func TestListenFailures(t *testing.T) {
	_, err := Listen(context.Background(), Config{MaxBodyBytes: -1})
	var ce *ConfigError
	assert.ErrorAs(t, err, &ce, "New's error, as it is")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Listen(ctx, Config{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestStartServesTLS(t *testing.T) {
	srv, err := New(Config{})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ts := httptest.NewUnstartedServer(nil) // for its certificate only
	ts.StartTLS()
	tlsConfig := ts.TLS.Clone()
	ts.Close()

	l := Start(srv, ln, tlsConfig)
	t.Cleanup(func() { _ = l.Close() })
	assert.Equal(t, "https://"+ln.Addr().String(), l.URL())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // a test certificate
	t.Cleanup(client.CloseIdleConnections)
	resp, err := client.Get(l.URL() + "/ping")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestStartReportsAFailedListener(t *testing.T) {
	srv, err := New(Config{})
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	l := Start(srv, failingListener{ln}, nil)
	t.Cleanup(func() { _ = l.Close() })
	<-l.Done()
	assert.ErrorIs(t, l.Err(), errAccept)
	assert.NoError(t, l.Close())
}

var errAccept = errors.New("accept failed")

// failingListener fails its first Accept.
type failingListener struct{ net.Listener }

func (f failingListener) Accept() (net.Conn, error) { return nil, errAccept }
