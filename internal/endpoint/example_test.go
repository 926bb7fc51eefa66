package endpoint_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/s2segment/s2segment/internal/endpoint"
	"github.com/tidwall/gjson"
)

// A server with one source whose Sink prints what it is given. The request
// is answered once the Sink has reported the event written.
func ExampleNew() {
	sink := endpoint.SinkFunc(func(_ context.Context, events [][]byte) []endpoint.Result {
		results := make([]endpoint.Result, len(events))
		for i, ev := range events {
			fmt.Println("writing", gjson.GetBytes(ev, "type"), gjson.GetBytes(ev, "event"))
			results[i] = endpoint.Result{Status: http.StatusOK}
		}
		return results
	})
	s, err := endpoint.New(endpoint.Config{
		Sources: []endpoint.Source{{Name: "website", WriteKey: "my-write-key", Sink: sink}},
	})
	if err != nil {
		panic(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	req, _ := http.NewRequest("POST", ts.URL+"/v1/track", strings.NewReader(`{"userId":"u1","event":"Signed Up"}`))
	req.SetBasicAuth("my-write-key", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	_ = s.Shutdown(context.Background())
	// Output:
	// writing track Signed Up
	// 200 {"success":true}
}

// Sign computes the X-Signature of a webhook; for an array of events Segment
// signs only the first element, byte for byte as sent.
func ExampleSign() {
	body := `[{"type":"track","event":"A"},{"type":"track","event":"B"}]`
	first := gjson.Get(body, "0").Raw
	fmt.Println(first)
	fmt.Println(endpoint.Sign([]byte("shared-secret"), []byte(first)) == endpoint.Sign([]byte("shared-secret"), []byte(body)))
	// Output:
	// {"type":"track","event":"A"}
	// false
}
