package dataapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
)

// benchServer reads each body and answers like the Data API's exec.
func benchServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"lastInsertId":0,"rowsAffected":10}`)
	}))
}

// benchRequest packs rows of about rowSize bytes into one request.
func benchRequest(b *testing.B, rows, rowSize int) *batch.Request {
	p, err := batch.New(batch.Config{Prefix: "INSERT INTO t (id, doc) VALUES ", Columns: 2, Database: "db"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range rows {
		row := fmt.Sprintf(`%d,{"k":"%s"}`, i, strings.Repeat("v", rowSize))
		if full, err := p.Add([]byte(row), i); err != nil || full != nil {
			b.Fatal("rows do not fit in one request", err)
		}
	}
	return p.Flush()
}

var benchBodies = []struct {
	name          string
	rows, rowSize int
}{{"1KB", 10, 100}, {"100KB", 100, 1000}, {"900KB", 300, 3000}}

// BenchmarkExecBatch writes one packed request per operation through
// ExecBatch against a local server.
func BenchmarkExecBatch(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(bb.name, func(b *testing.B) {
			srv := benchServer()
			defer srv.Close()
			c, err := dataapi.New(configFor(srv))
			if err != nil {
				b.Fatal(err)
			}
			req := benchRequest(b, bb.rows, bb.rowSize)
			ctx := context.Background()
			b.SetBytes(int64(len(req.Body())))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if res := dataapi.ExecBatch(ctx, c, req); res.Err() != nil {
					b.Fatal(res.Err())
				}
			}
		})
	}
}

// BenchmarkExecBatchBaseline does the same with a bare net/http POST: the
// floor any client pays for the round trip.
func BenchmarkExecBatchBaseline(b *testing.B) {
	for _, bb := range benchBodies {
		b.Run(bb.name, func(b *testing.B) {
			srv := benchServer()
			defer srv.Close()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			req := benchRequest(b, bb.rows, bb.rowSize)
			body := req.Body()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				hr, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/api/v2/exec", bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				hr.Header.Set("Content-Type", "application/json")
				hr.SetBasicAuth("admin", "secret")
				resp, err := hc.Do(hr)
				if err != nil {
					b.Fatal(err)
				}
				data, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				var out dataapi.ExecResult
				if err != nil || resp.StatusCode != 200 || json.Unmarshal(data, &out) != nil {
					b.Fatal(resp.Status, err)
				}
			}
		})
	}
}
