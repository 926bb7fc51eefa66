package dataapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/s2segment/s2segment/batch"
	"github.com/s2segment/s2segment/dataapi"
)

// dataAPI is a tiny stand-in for the Data API: it accepts bodies up to
// limit bytes, answers 413 above, and a SQL error for table "missing".
func dataAPI(limit int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if len(body) > limit {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		var stmt struct {
			SQL  string
			Args []json.RawMessage
		}
		_ = json.Unmarshal(body, &stmt)
		if stmt.SQL == "SELECT * FROM missing" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "Error 1146 (42S02): Table 'db.missing' doesn't exist")
			return
		}
		fmt.Fprintf(w, `{"lastInsertId":0,"rowsAffected":%d}`, len(stmt.Args))
	}))
}

// configFor points a Config at a test server (plain http).
func configFor(srv *httptest.Server) dataapi.Config {
	u, _ := url.Parse(srv.URL)
	return dataapi.Config{Host: u.Hostname(), Port: u.Port(), Scheme: "http", User: "admin", Password: "secret", Database: "db"}
}

func ExampleClient_Exec() {
	srv := dataAPI(1 << 20)
	defer srv.Close()
	c, err := dataapi.New(configFor(srv))
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := c.Exec(context.Background(), "INSERT INTO t (a, b) VALUES (?, ?)", 1, "x")
	fmt.Println(res.RowsAffected, err)
	// Output: 2 <nil>
}

func ExampleAPIError() {
	srv := dataAPI(1 << 20)
	defer srv.Close()
	c, _ := dataapi.New(configFor(srv))
	_, err := c.QueryRows(context.Background(), "SELECT * FROM missing")
	var ae *dataapi.APIError
	if errors.As(err, &ae) {
		fmt.Println(ae.StatusCode, ae.Errno, ae.SQLState, ae.Retryable)
		fmt.Println(ae.Message)
	}
	fmt.Println(err)
	// Output:
	// 400 1146 42S02 false
	// Table 'db.missing' doesn't exist
	// dataapi: /api/v2/query/rows: 400 Bad Request: Error 1146 (42S02): Table 'db.missing' doesn't exist
}

// ExampleExecBatch packs rows with package batch and writes them to a
// server that refuses bodies over 200 bytes: the request is split until
// each part fits, and the one row that never fits fails alone.
func ExampleExecBatch() {
	srv := dataAPI(200)
	defer srv.Close()
	c, _ := dataapi.New(configFor(srv))
	p, _ := batch.New(batch.Config{Prefix: "INSERT INTO t (id, v) VALUES ", Columns: 2, Database: "db"})
	rows := []string{`1,"a"`, `2,"b"`, `3,"` + fmt.Sprintf("%0200d", 0) + `"`, `4,"d"`}
	for i, row := range rows {
		if _, err := p.Add([]byte(row), i); err != nil {
			fmt.Println(err)
		}
	}
	req := p.Flush()
	res := dataapi.ExecBatch(context.Background(), c, req)
	for i, err := range res.Errs {
		fmt.Printf("row %d: written=%v too large=%v\n", req.Refs()[i], err == nil, errors.Is(err, dataapi.ErrRequestTooLarge))
	}
	fmt.Println("requests:", res.Requests, "splits:", res.Splits)
	// Output:
	// row 0: written=true too large=false
	// row 1: written=true too large=false
	// row 2: written=false too large=true
	// row 3: written=true too large=false
	// requests: 5 splits: 2
}
