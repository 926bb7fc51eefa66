package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
)

// BaselineFloor names the lower bound of the replay and serve stages.
const BaselineFloor = "pre-built bodies, bare HTTP client"

// apiEndpoint is where and how a bare client posts request bodies.
type apiEndpoint struct {
	url            string
	user, password string
	tls            *tls.Config
}

// endpointOf returns the exec endpoint of c.DataAPI, or of the emulator at
// addr when c.DataAPI is nil.
func endpointOf(c *Config, addr string) (apiEndpoint, error) {
	if c.DataAPI == nil {
		return apiEndpoint{url: "http://" + addr + "/api/v2/exec", user: "root"}, nil
	}
	dc := c.DataAPI
	scheme := dc.Scheme
	if scheme == "" {
		scheme = dataapi.DefaultScheme
	}
	e := apiEndpoint{url: scheme + "://" + net.JoinHostPort(dc.Host, portOr(dc.Port, scheme)) + "/api/v2/exec",
		user: dc.User, password: dc.Password}
	if scheme == "https" {
		e.tls = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: dc.InsecureSkipVerify} // as the client's config says
		if len(dc.CACert) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(dc.CACert) {
				return e, errors.New("the Data API's CA certificate holds no PEM certificate")
			}
			e.tls.RootCAs = pool
		}
	}
	return e, nil
}

// runFloor is the lower bound of the stages that write to a Data API: the
// events' request bodies are built first, outside the measure (the
// pipeline, into a table of their own), then posted with a bare net/http
// client, c.Concurrency at a time, with nothing else done per request
// than reading the answer. Its events/s is the most a stage could reach
// against this Data API with these requests.
func runFloor(ctx context.Context, c *Config, events [][]byte) (*stageResult, error) {
	tg, err := openTarget(ctx, c)
	if err != nil {
		return nil, err
	}
	defer tg.close()
	table := baselineTable(c.Table)
	w, err := newWriter(ctx, c, singlestore.NewExecutor(tg.client), tg.database, table, c.BatchSize)
	if err != nil {
		return nil, err
	}
	pc, err := packing(&Config{Table: table, Schema: c.Schema, BatchSize: c.BatchSize, MaxRequestBytes: c.MaxRequestBytes}, tg.database)
	if err != nil {
		return nil, err
	}
	packer, err := batch.New(pc)
	if err != nil {
		return nil, err
	}
	var (
		bodies [][]byte
		rows   []int
		buf    []byte
		row    []byte
		p      destination.Payload
	)
	keep := func(r *batch.Request) {
		if r != nil {
			bodies, rows = append(bodies, bytes.Clone(r.Body())), append(rows, r.Len())
			r.Release()
		}
	}
	enc := w.Encoder()
	for i, ev := range events {
		var full *batch.Request
		if buf, err = enc.Process(buf[:0], ev, &p); err != nil {
			continue
		}
		if row, full, err = enc.Pack(packer, row, &p, i); err == nil {
			keep(full)
		}
	}
	keep(packer.Flush())

	tr := &http.Transport{MaxIdleConnsPerHost: c.Concurrency, TLSClientConfig: tg.api.tls}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var (
		written atomic.Int64
		fails   failureSet
	)
	m := newFeeder(len(bodies), 1, 0).drive(ctx, c.Concurrency, c.ServerPID, func(chunks iter.Seq2[int, int]) {
		for k := range chunks {
			if err := post(ctx, client, tg.api, bodies[k]); err != nil {
				fails.add(err.Error(), rows[k])
				continue
			}
			written.Add(int64(rows[k]))
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	n := 0
	for _, r := range rows {
		n += r
	}
	return &stageResult{driven: n, eventBytes: sumBytes(events, len(events)), ok: int(written.Load()),
		failures: fails.snapshot(), requests: int64(len(bodies)), clock: m}, nil
}

// post sends one body and reads the answer.
func post(ctx context.Context, client *http.Client, e apiEndpoint, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(e.user, e.password)
	resp, err := client.Do(req)
	if err != nil {
		return errors.New("transport error")
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return errors.New("reading the answer")
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}
