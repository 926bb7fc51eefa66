package destination_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/s2segment/s2segment/destination"
)

// webhookDefinition is a small second destination built with the kit: it
// posts the mapped payloads of selected events, as one JSON array per
// batch, to the URL in its settings.
func webhookDefinition(client *http.Client) *destination.Definition {
	post := &destination.Action{
		Key:                 "post",
		Title:               "Post Event",
		Description:         "Post the event's payload to the webhook URL.",
		DefaultSubscription: `type = "track" and event != "Debug"`,
		Fields: destination.Fields{
			{Key: "event_name", Label: "Event Name", Type: destination.TypeString, Required: destination.Always,
				Default: destination.PathDefault("$.event")},
			{Key: "user_id", Label: "User ID", Type: destination.TypeString, Default: destination.PathDefault("$.userId")},
			{Key: "plan", Label: "Plan", Type: destination.TypeString, AllowNull: true,
				Choices: []destination.Choice{{Label: "Free", Value: "free"}, {Label: "Pro", Value: "pro"}},
				Default: destination.PathDefault("$.properties.plan")},
			{Key: "amount", Label: "Amount", Type: destination.TypeNumber, Maximum: destination.Float(10000),
				Default: destination.PathDefault("$.properties.amount")},
			{Key: "coupon", Label: "Coupon", Type: destination.TypeString,
				Required: destination.RequiredWhen(destination.Condition{FieldKey: "plan", Operator: destination.Is, Value: "pro"}),
				Default:  destination.PathDefault("$.properties.coupon")},
			{Key: "tags", Label: "Tags", Type: destination.TypeString, Multiple: true, Default: destination.PathDefault("$.properties.tags")},
		},
		PerformBatch: func(ctx context.Context, s destination.Settings, payloads []*destination.Payload) []destination.Result {
			var body bytes.Buffer
			body.WriteByte('[')
			for i, p := range payloads {
				if i > 0 {
					body.WriteByte(',')
				}
				body.Write(p.JSON)
			}
			body.WriteByte(']')
			results := make([]destination.Result, len(payloads))
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.String("url"), &body)
			if err != nil {
				for i := range results {
					results[i] = destination.ResultOf(fmt.Errorf("creating request: %w", err))
				}
				return results
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				for i := range results {
					results[i] = destination.ResultOf(&destination.Error{Status: 502, Message: "posting to the webhook failed", Err: err})
				}
				return results
			}
			defer resp.Body.Close()
			answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			for i := range results {
				// Results fail closed: a payload is delivered only when its
				// result says so.
				results[i] = destination.Result{Status: http.StatusOK}
				if resp.StatusCode/100 != 2 {
					results[i] = destination.ResultOf(&destination.Error{Status: resp.StatusCode, Message: "the webhook answered " + resp.Status})
				}
				results[i].Body = answer
			}
			return results
		},
	}
	return &destination.Definition{
		Name: "Webhook",
		Mode: "cloud",
		Authentication: &destination.Authentication{
			Scheme: "custom",
			Fields: destination.Fields{
				{Key: "url", Label: "URL", Type: destination.TypeString, Format: "uri", Required: destination.Always},
			},
		},
		Actions: []*destination.Action{post},
	}
}

// Example_webhook defines a second destination with the kit (its own
// fields, defaults, choices, conditions and subscription), posts a batch of
// events to a webhook served by httptest, and prints what each event became.
func Example_webhook() {
	var mu sync.Mutex
	var received []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		received = append(received, string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()

	def := webhookDefinition(srv.Client())
	if err := def.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	settings, err := def.ParseSettings([]byte(`{"url":"` + srv.URL + `/hook"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	action, _ := def.Action("post")
	// The user's mapping replaces one default and adds nothing else.
	pipeline, err := action.Compile(destination.Config{Mapping: json.RawMessage(`{"user_id":{"@path":"$.anonymousId"}}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	events := [][]byte{
		[]byte(`{"type":"track","event":"Signed Up","anonymousId":"a1","properties":{"plan":"free","amount":"12.50","tags":"new"}}`),
		[]byte(`{"type":"identify","userId":"u2"}`),
		[]byte(`{"type":"track","event":"Upgraded","anonymousId":"a3","properties":{"plan":"pro"}}`),
		[]byte(`{"type":"track","event":"Paid","anonymousId":"a4","properties":{"plan":"gold","amount":20000}}`),
		[]byte(`{"type":"track","event":"Debug"}`),
	}
	ms := pipeline.ExecuteBatch(context.Background(), settings, events)
	for i, r := range ms.Results {
		if r.OK() {
			fmt.Printf("event %d: %d sent %s\n", i, r.Status, r.Sent)
		} else {
			fmt.Printf("event %d: %d %s\n", i, r.Status, r.ErrorMessage)
		}
	}
	fmt.Println("requests:", len(received))
	fmt.Println("body:", strings.Join(received, ""))
	// Output:
	// event 0: 200 sent {"event_name":"Signed Up","user_id":"a1","plan":"free","amount":12.5,"tags":["new"]}
	// event 1: 400 Payload is either invalid or does not match the subscription
	// event 2: 400 The root value is missing the required field 'coupon'. The root value must match "then" schema.
	// event 3: 400 Plan must be one of: "free", "pro", or null. Amount must be equal to or less than 10000.
	// event 4: 400 Payload is either invalid or does not match the subscription
	// requests: 1
	// body: [{"event_name":"Signed Up","user_id":"a1","plan":"free","amount":12.5,"tags":["new"]}]
}
