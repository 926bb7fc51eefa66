package endpoint_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

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

// Sign computes the X-Signature of a webhook: the HMAC of the whole raw
// body, so that no element of an array can be added or changed.
// SignTimestamp covers an X-Signature-Timestamp as well, for receivers that
// refuse old requests.
func ExampleSign() {
	body := []byte(`[{"type":"track","event":"A"},{"type":"track","event":"B"}]`)
	fmt.Println(endpoint.Sign([]byte("shared-secret"), body))
	ts := strconv.FormatInt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Unix(), 10)
	fmt.Println(endpoint.TimestampHeader+":", ts)
	fmt.Println(endpoint.SignatureHeader+":", endpoint.SignTimestamp([]byte("shared-secret"), ts, body))
	// Output:
	// 8953f18343dafca4db645b9d392ecdbabe421774
	// X-Signature-Timestamp: 1772366400
	// X-Signature: e2645bd7f7e24d3ec537cf8556d8fab8bfd96d9f
}
