package emulator_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/s2segment/s2segment/dataapi/emulator"
)

// post sends a Data API request the way curl -u root: -H 'Content-Type:
// application/json' -d BODY URL does, and prints the answer.
func post(url, body string) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.SetBasicAuth("root", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, string(b))
}

// The emulator is an http.Handler: serve it with httptest (or any
// http.Server, or with Listen) and talk to it as to the Data API.
func Example() {
	srv, err := emulator.New(emulator.Config{}) // embedded engine, database "s2segment"
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	post(ts.URL+"/api/v2/exec", `{"sql":"CREATE TABLE t (id INT, doc JSON, SHARD KEY (id)) SQL_MODE='STRICT_ALL_TABLES'","database":"s2segment"}`)
	post(ts.URL+"/api/v2/exec", `{"sql":"INSERT INTO t VALUES (?, ?), (?, ?)","database":"s2segment","args":[1,{"plan":"pro"},2,null]}`)
	post(ts.URL+"/api/v2/query/rows", `{"sql":"SELECT id, doc FROM t ORDER BY id","database":"s2segment"}`)
	post(ts.URL+"/api/v2/query/tuples", `{"sql":"SELECT id FROM t WHERE id = ?","database":"s2segment","args":[2]}`)
	post(ts.URL+"/api/v2/query/rows", `{"sql":"SELECT * FROM missing","database":"s2segment"}`)
	// Output:
	// 200 {"lastInsertId":0,"rowsAffected":0}
	// 200 {"lastInsertId":0,"rowsAffected":2}
	// 200 {"results":[{"rows":[{"id":1,"doc":{"plan":"pro"}},{"id":2,"doc":null}]}]}
	// 200 {"results":[{"columns":[{"name":"id","dataType":"INT","nullable":true}],"rows":[[2]]}]}
	// 400 Error 1146 (42S02): table not found: missing
}

// Faults make the emulator fail a seeded fraction of requests, to test
// how a client retries.
func Example_faults() {
	srv, err := emulator.New(emulator.Config{Faults: emulator.Faults{FailRate: 1, FailStatus: http.StatusTooManyRequests}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	post(ts.URL+"/api/v2/exec", `{"sql":"SELECT 1"}`)
	fmt.Println(srv.Stats().InjectedFailures)
	// Output:
	// 429 Error 1105 (HY000): injected failure (emulator fail rate 1)
	// 1
}

// Listen serves the emulator over real HTTP on a loopback port, for a
// client (or a program run as a subprocess) that needs a host and a port.
func ExampleListen() {
	l, err := emulator.Listen(context.Background(), emulator.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close() // stops serving and drops the data

	fmt.Println(l.Host())
	post(l.URL()+"/api/v2/query/rows", `{"sql":"SELECT 1 AS one","database":"s2segment"}`)
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}
	_, err = http.Get(l.URL() + "/ping")
	fmt.Println("after Close:", err != nil)
	// Output:
	// 127.0.0.1
	// 200 {"results":[{"rows":[{"one":1}]}]}
	// after Close: true
}
