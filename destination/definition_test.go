package destination

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tidwall/gjson"
)

func TestManifestShape(t *testing.T) {
	def := &Definition{
		Name: "Example", Slug: "actions-example", Mode: "cloud",
		Authentication: &Authentication{Scheme: "custom", Fields: Fields{
			{Key: "apiKey", Label: "API Key", Description: "The key.", Type: TypePassword, Required: Always},
			{Key: "region", Label: "Region", Type: TypeString, Default: LiteralDefault("eu"), Choices: []Choice{{Value: "eu"}, {Value: "us"}}},
		}},
		Actions: []*Action{{
			Key: "send", Title: "Send", Description: "Send it.", DefaultSubscription: `type = "track"`,
			Fields: Fields{
				{Key: "b", Label: "B", Type: TypeNumber, Minimum: Float(0), Maximum: Float(5), Default: LiteralDefault(1)},
				{Key: "a", Label: "A", Type: TypeString, Required: RequiredWhenAny(Condition{FieldKey: "b", Operator: IsNot, Value: 2}, Condition{FieldKey: "b", Operator: Is}),
					Default: PathDefault("$.a"), UnsafeHidden: true, Multiple: true, AllowNull: true},
			},
		}},
	}
	require.NoError(t, def.Validate())
	m, err := def.Manifest()
	require.NoError(t, err)
	want := `{"name":"Example","slug":"actions-example","mode":"cloud","authentication":{"scheme":"custom","fields":{` +
		`"apiKey":{"label":"API Key","description":"The key.","type":"password","required":true},` +
		`"region":{"label":"Region","description":"","type":"string","choices":["eu","us"],"default":"eu"}}},` +
		`"actions":{"send":{"title":"Send","description":"Send it.","defaultSubscription":"type = \"track\"","fields":{` +
		`"b":{"label":"B","description":"","type":"number","minimum":0,"maximum":5,"default":1},` +
		`"a":{"label":"A","description":"","type":"string","required":{"match":"any","conditions":[{"fieldKey":"b","operator":"is_not","value":2},{"fieldKey":"b","operator":"is"}]},"allowNull":true,"multiple":true,"default":{"@path":"$.a"},"unsafe_hidden":true}}}}}`
	assert.Equal(t, want, string(m), "fields and actions keep their order")

	// Required reads back what it writes.
	var r Required
	require.NoError(t, json.Unmarshal([]byte(`{"conditions":[{"fieldKey":"type","operator":"is","value":"track"}]}`), &r))
	assert.Equal(t, "track", r.When.Conditions[0].Value)
	require.NoError(t, json.Unmarshal([]byte(`true`), &r))
	assert.Equal(t, Always, r)
	assert.Error(t, json.Unmarshal([]byte(`"yes"`), &r))
}

func TestDefinitionValidate(t *testing.T) {
	def := &Definition{
		Name: "", Mode: "mainframe",
		Authentication: &Authentication{Scheme: "custom", Fields: Fields{{Key: "k", Label: "K", Type: TypeString}, {Key: "k", Label: "K", Type: TypeString}}},
		Actions: []*Action{
			{Key: "a", Title: "A", DefaultSubscription: `type = `, Fields: Fields{
				{Key: "x", Label: "X", Type: "date"},
				{Key: "n", Label: "N", Type: TypeNumber, Minimum: Float(5), Maximum: Float(1)},
				{Key: "d", Label: "D", Type: TypeString, Default: json.RawMessage(`{"@path":`)},
				{Key: "c", Label: "C", Type: TypeString, Required: RequiredWhen(Condition{FieldKey: "nope", Operator: Is, Value: "v"})},
				{Key: "p", Label: "", Type: TypeString, Properties: Fields{{Key: "q", Label: "Q", Type: TypeString}}},
				{Key: "dot.ted", Label: "Dotted", Type: TypeString},
			}},
			{Key: "a", Title: "Again", DefaultSubscription: `type = "x" &`},
		},
	}
	err := def.Validate()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrInvalidDefinition))
	var de *DefinitionError
	require.ErrorAs(t, err, &de)
	text := err.Error()
	for _, want := range []string{
		"$.name: The root value is missing the required field 'name'.",
		`$.mode: The value at /mode must be one of: "cloud" or "device".`,
		`Field key "k" is used twice.`,
		`$.actions[0].fields[0].type: The value at /actions/0/fields/0/type must be one of:`,
		"Minimum 5 is greater than maximum 1.",
		"$.actions.a.fields.d.default: The default is not valid JSON.",
		`The condition names field "nope", which this action does not have.`,
		"Properties are only allowed on object fields",
		`$.actions[0].fields[4].label: The value at /actions/0/fields/4 is missing the required field 'label'.`,
		`Field key "dot.ted" contains '.'`,
		`Action key "a" is used twice.`,
		"The default subscription does not parse: invalid subscription at offset 11: invalid character '&'.",
	} {
		assert.Contains(t, text, want)
	}
}

func TestValidateStruct(t *testing.T) {
	type settings struct {
		Host  string   `json:"host" label:"Host" validate:"required,hostname"`
		Port  int      `json:"port" label:"Port" validate:"min=1,max=65535"`
		Mode  string   `json:"mode" validate:"oneof=a b c"`
		Name  string   `json:"name" label:"Name" validate:"max=3"`
		Hosts []string `json:"hosts" label:"Hosts" validate:"max=1"`
	}
	assert.NoError(t, ValidateStruct(settings{Host: "db.example.com", Port: 443, Mode: "a"}))
	err := ValidateStruct(&settings{Host: "not a host!", Port: 0, Mode: "d", Name: "long", Hosts: []string{"a", "b"}})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrValidation))
	assert.Equal(t, `Host must be a valid hostname string but it was not. Port must be equal to or greater than 1. The value at /mode must be one of: "a", "b", or "c". Name must be 3 characters or fewer but it was 4 characters. Hosts must have 1 or fewer items.`, err.Error())
	err = ValidateStruct(settings{Mode: "a", Port: 1})
	assert.EqualError(t, err, "The root value is missing the required field 'host'.")
	assert.Error(t, ValidateStruct(42))
}

func TestResults(t *testing.T) {
	ms := NewMultiStatus(5)
	ms.Succeed(0)
	ms.Results[0].Sent = json.RawMessage(`{"a":1}`)
	ms.Fail(1, NewValidationError("/event", "Event must be a string but it was an object."))
	ms.Fail(2, fmt.Errorf("checking: %w", ErrNoMatch))
	ms.Fail(3, &Error{Status: 429, Message: "slow down"})
	ms.Results[4] = Result{Status: 503, ErrorMessage: "Failed to insert data: busy", Sent: json.RawMessage(`{"b":2}`)}
	b, err := json.Marshal(ms)
	require.NoError(t, err)
	assert.JSONEq(t, `{"multistatus":[
		{"status":200,"sent":{"a":1}},
		{"status":400,"errortype":"PAYLOAD_VALIDATION_FAILED","errormessage":"Event must be a string but it was an object.","errorreporter":"INTEGRATIONS"},
		{"status":400,"errortype":"PAYLOAD_VALIDATION_FAILED","errormessage":"Payload is either invalid or does not match the subscription","errorreporter":"INTEGRATIONS"},
		{"status":429,"errortype":"TOO_MANY_REQUESTS","errormessage":"slow down","errorreporter":"INTEGRATIONS"},
		{"status":503,"errortype":"SERVICE_UNAVAILABLE","errormessage":"Failed to insert data: busy","errorreporter":"DESTINATION","sent":{"b":2}}
	]}`, string(b))
	assert.Equal(t, 4, ms.Failed())
	var be *BatchError
	require.ErrorAs(t, ms.Err(), &be)
	assert.Equal(t, 1, be.First)
	assert.ErrorIs(t, ms.Err(), ErrValidation)
	assert.True(t, ms.Results[3].Retryable())
	assert.True(t, ms.Results[4].Retryable())
	assert.False(t, ms.Results[1].Retryable())
	assert.NoError(t, (&MultiStatus{Results: []Result{{Status: 200}, {Status: 204}}}).Err())

	// Fail closed: a result nobody set is a retryable failure, never a
	// delivery, and is written as a 500 node.
	unset := NewMultiStatus(2)
	unset.Succeed(1)
	assert.Error(t, unset.Err())
	assert.Equal(t, 1, unset.Failed())
	assert.False(t, unset.Results[0].OK())
	assert.True(t, unset.Results[0].Unset())
	assert.True(t, unset.Results[0].Retryable())
	b, err = json.Marshal(unset)
	require.NoError(t, err)
	assert.JSONEq(t, `{"multistatus":[
		{"status":500,"errortype":"RETRYABLE_ERROR","errormessage":"`+MissingMessage+`","errorreporter":"INTEGRATIONS"},
		{"status":200}
	]}`, string(b))
	for status, want := range map[int]string{405: "METHOD_NOT_ALLOWED", 410: "GONE", 415: "UNSUPPORTED_MEDIA_TYPE", 499: "CANCELLED", 505: "HTTP_VERSION_NOT_SUPPORTED", 507: "INSUFFICIENT_STORAGE", 418: TypeUnknownError} {
		assert.Equal(t, want, ErrorTypeFor(status), "status %d", status)
	}

	for status, want := range map[int]bool{408: true, 423: true, 429: true, 500: true, 501: false, 503: true, 505: false, 400: false, 404: false, 200: false} {
		assert.Equal(t, want, Retryable(status), "status %d", status)
	}
	assert.Equal(t, 408, ResultOf(context.DeadlineExceeded).Status)
	assert.Equal(t, 500, ResultOf(errors.New("boom")).Status)
	assert.Equal(t, 200, ResultOf(nil).Status)
}

func TestJSNumbers(t *testing.T) {
	for in, want := range map[string]float64{
		"": 0, "  12 ": 12, "0x10": 16, "0b101": 5, "0o17": 15, "1e3": 1000, ".5": 0.5, "5.": 5, "-0": 0,
		"+3": 3, "Infinity": math.Inf(1), "-Infinity": math.Inf(-1), "\u00a01\u2003": 1,
	} {
		assert.Equal(t, want, jsNumber(in), "%q", in)
	}
	for _, in := range []string{"abc", "1e", "0x", "0xZ", "1_000", "inf", "NaN", "--1", "1 2", "e5"} {
		assert.True(t, math.IsNaN(jsNumber(in)), "%q", in)
	}
	for f, want := range map[float64]string{
		0: "0", 1: "1", -1.5: "-1.5", 150: "150", 0.1: "0.1", 1e21: "1e+21", 1e20: "100000000000000000000",
		1e-7: "1e-7", 1.5e-7: "1.5e-7", 0.000001: "0.000001", 1180591620717411303424: "1.1805916207174113e+21",
		math.Inf(1): "Infinity", math.NaN(): "NaN", 12345678901234567890: "12345678901234567000",
	} {
		assert.Equal(t, want, jsFormat(f), "%v", f)
	}
}

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339Nano, s)
		require.NoError(t, err)
		return tt.UTC()
	}
	good := map[string]string{
		"2025-07-07T10:19:25.665Z":          "2025-07-07T10:19:25.665Z",
		"2025-07-07T12:19:25.665+02:00":     "2025-07-07T10:19:25.665Z",
		"2025-07-07T05:19:25.665-0500":      "2025-07-07T10:19:25.665Z",
		"2025-07-08T01:30:00.5+05:30":       "2025-07-07T20:00:00.5Z",
		"2025-07-07T10:19:25.123456789123Z": "2025-07-07T10:19:25.123456789Z",
		"2025-07-07 10:19:25":               "2025-07-07T10:19:25Z",
		"2025-07-07t10:19z":                 "2025-07-07T10:19:00Z",
		"2025-07-07":                        "2025-07-07T00:00:00Z",
		"2025/07/07 10:19:25":               "2025-07-07T10:19:25Z",
		"2024-02-29T00:00:00+01":            "2024-02-28T23:00:00Z",
		" 2025-07-07T10:19:25Z ":            "2025-07-07T10:19:25Z",
		"Mon, 07 Jul 2025 10:19:25 GMT":     "2025-07-07T10:19:25Z",
		"Mon, 07 Jul 2025 12:19:25 +0200":   "2025-07-07T10:19:25Z",
		"Mon Jul 07 2025 12:19:25 GMT+0200 (Central European Summer Time)": "2025-07-07T10:19:25Z",
	}
	for in, want := range good {
		got, err := ParseTime(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, utc(want), got, in)
		}
	}
	for _, in := range []string{"", "not a date", "2025-13-01", "2025-02-30T00:00:00Z", "2025-07-07T25:00:00Z", "2025-07-07T10:19:25.Z", "2025-07-07T10:19:25+2", "2025-07-07T10:19:25Zjunk", "1751883565"} {
		_, err := ParseTime(in)
		assert.ErrorIs(t, err, ErrNotDateTime, "%q", in)
	}
	for in, want := range map[string]string{
		`1751883565665`:          "2025-07-07T10:19:25.665Z",
		`1751883565`:             "2025-07-07T10:19:25Z",
		`"1751883565665"`:        "2025-07-07T10:19:25.665Z",
		`1751883565.5`:           "2025-07-07T10:19:25.5Z",
		`"2025-07-07T10:19:25Z"`: "2025-07-07T10:19:25Z",
	} {
		got, err := ParseTimeValue(gjson.Parse(in))
		if assert.NoError(t, err, in) {
			assert.Equal(t, utc(want), got, in)
		}
	}
	for _, in := range []string{`true`, `null`, `{}`, `1e300`} {
		_, err := ParseTimeValue(gjson.Parse(in))
		assert.ErrorIs(t, err, ErrNotDateTime, in)
	}
}

func TestMergeMapping(t *testing.T) {
	fields := Fields{
		{Key: "a", Label: "A", Type: TypeString, Default: PathDefault("$.a")},
		{Key: "b", Label: "B", Type: TypeString},
		{Key: "c", Label: "C", Type: TypeNumber, Default: LiteralDefault(3)},
	}
	m, err := MergeMapping(fields, json.RawMessage(`{"z":1,"a":"x","b":{"@path":"$.b"}}`))
	require.NoError(t, err)
	assert.Equal(t, `{"a":"x","c":3,"z":1,"b":{"@path":"$.b"}}`, string(m))
	m, err = MergeMapping(fields, nil)
	require.NoError(t, err)
	assert.Equal(t, `{"a":{"@path":"$.a"},"c":3}`, string(m))
	_, err = MergeMapping(fields, json.RawMessage(`{"a":`))
	assert.ErrorContains(t, err, "offset")
	_, err = MergeMapping(fields, json.RawMessage(`"x"`))
	assert.ErrorContains(t, err, "must be a JSON object")
}

// TestWebhookFailures drives the example's webhook destination into its
// failure paths: the server's error status reaches every payload of the
// batch, single events go through Execute with Single delivery, and bad
// settings are refused in Segment's words.
func TestWebhookFailures(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, `{"error":"down"}`)
	}))
	defer srv.Close()
	def := webhookDefinitionForTest(srv.Client())
	settings, err := def.ParseSettings([]byte(`{"url":"` + srv.URL + `"}`))
	require.NoError(t, err)
	action, _ := def.Action("post")
	p, err := action.Compile(Config{})
	require.NoError(t, err)

	ms := p.ExecuteBatch(context.Background(), settings, [][]byte{
		[]byte(`{"type":"track","event":"A"}`),
		[]byte(`{"type":"track","event":"B"`),
		[]byte(`{"type":"track","event":"C"}`),
	})
	require.Len(t, ms.Results, 3)
	for _, i := range []int{0, 2} {
		assert.Equal(t, 503, ms.Results[i].Status)
		assert.True(t, ms.Results[i].Retryable())
		assert.JSONEq(t, `{"error":"down"}`, string(ms.Results[i].Body))
		assert.NotEmpty(t, ms.Results[i].Sent)
	}
	assert.Equal(t, 400, ms.Results[1].Status)
	assert.ErrorIs(t, ms.Results[1].Err, ErrInvalidEvent)

	status = http.StatusOK
	r := p.Execute(context.Background(), settings, []byte(`{"type":"track","event":""}`))
	assert.Equal(t, 400, r.Status, "Single delivery removes the empty string, so the required field is missing: %+v", r)
	assert.Equal(t, "The root value is missing the required field 'event_name'.", r.ErrorMessage)
	r = p.Execute(context.Background(), settings, []byte(`{"type":"track","event":"E"}`))
	assert.Equal(t, 200, r.Status)

	_, err = def.ParseSettings([]byte(`{"url":"not a url"}`))
	assert.EqualError(t, err, "URL must be a valid URI string but it was not.")
	_, err = def.ParseSettings([]byte(`{}`))
	assert.EqualError(t, err, "The root value is missing the required field 'url'.")
	_, err = def.ParseSettings([]byte(`{"url":`))
	assert.ErrorIs(t, err, ErrValidation)

	noPerform := &Action{Key: "x", Title: "X", Fields: Fields{{Key: "a", Label: "A", Type: TypeString}}}
	p2, err := noPerform.Compile(Config{})
	require.NoError(t, err)
	assert.Equal(t, 501, p2.Execute(context.Background(), settings, []byte(`{}`)).Status)
	assert.Nil(t, p2.Subscription(), "no default subscription: every event is selected")
	assert.True(t, p2.Match([]byte(`{"type":"anything"}`)))
}

// webhookDefinitionForTest is the example's destination with the
// subscription of its action relaxed to every track.
func webhookDefinitionForTest(c *http.Client) *Definition {
	d := exampleWebhook(c)
	d.Actions[0].DefaultSubscription = `type = "track"`
	return d
}

// exampleWebhook rebuilds the example's destination inside the package.
func exampleWebhook(client *http.Client) *Definition {
	return &Definition{
		Name: "Webhook", Mode: "cloud",
		Authentication: &Authentication{Scheme: "custom", Fields: Fields{{Key: "url", Label: "URL", Type: TypeString, Format: "uri", Required: Always}}},
		Actions: []*Action{{
			Key: "post", Title: "Post Event",
			Fields: Fields{{Key: "event_name", Label: "Event Name", Type: TypeString, Required: Always, Default: PathDefault("$.event")}},
			PerformBatch: func(ctx context.Context, s Settings, ps []*Payload) []Result {
				var parts []string
				for _, p := range ps {
					parts = append(parts, string(p.JSON))
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.String("url"), strings.NewReader("["+strings.Join(parts, ",")+"]"))
				resp, err := client.Do(req)
				rs := make([]Result, len(ps))
				if err != nil {
					for i := range rs {
						rs[i] = ResultOf(err)
					}
					return rs
				}
				defer resp.Body.Close()
				var body json.RawMessage
				_ = json.NewDecoder(resp.Body).Decode(&body)
				for i := range rs {
					rs[i] = Result{Status: resp.StatusCode, Body: body}
					if resp.StatusCode != 200 {
						rs[i].ErrorMessage = "the webhook answered " + resp.Status
					}
				}
				return rs
			},
		}},
	}
}

// TestPerformResultsFailClosed checks that a perform function that forgets
// a result, leaves one unset or returns too few never acknowledges an
// event: each such event is a retryable 500, and the others keep theirs.
func TestPerformResultsFailClosed(t *testing.T) {
	fields := Fields{{Key: "n", Label: "N", Type: TypeNumber, Required: Always, Default: PathDefault("$.n")}}
	events := [][]byte{[]byte(`{"n":0}`), []byte(`{"n":1}`), []byte(`{"n":2}`), []byte(`{"n":3}`)}
	for _, tc := range []struct {
		name   string
		action *Action
		want   []int
		single int // Execute's status for events[1]
	}{
		{"batch, one left unset", &Action{Key: "a", Title: "A", Fields: fields,
			PerformBatch: func(_ context.Context, _ Settings, ps []*Payload) []Result {
				rs := make([]Result, len(ps))
				for i, p := range ps {
					if p.Get("n").Int() != 2 {
						rs[i] = Result{Status: 200}
					}
				}
				return rs
			}}, []int{200, 200, 500, 200}, 200},
		{"batch, too few results", &Action{Key: "a", Title: "A", Fields: fields,
			PerformBatch: func(_ context.Context, _ Settings, ps []*Payload) []Result {
				return []Result{{Status: 200}, {Status: 202}}
			}}, []int{200, 202, 500, 500}, 200},
		{"single, zero result", &Action{Key: "a", Title: "A", Fields: fields,
			Perform: func(_ context.Context, _ Settings, p *Payload) Result {
				if p.Get("n").Int()%2 == 1 {
					return Result{}
				}
				return Result{Status: 200}
			}}, []int{200, 500, 200, 500}, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.action.Compile(Config{})
			require.NoError(t, err)
			ms := p.ExecuteBatch(context.Background(), Settings{}, events)
			var got []int
			for _, r := range ms.Results {
				got = append(got, r.Status)
				if !r.OK() {
					assert.True(t, r.Retryable(), "%+v", r)
					assert.NotEmpty(t, r.ErrorMessage)
				}
			}
			assert.Equal(t, tc.want, got)
			single := p.Execute(context.Background(), Settings{}, events[1])
			assert.Equal(t, tc.single, single.Status, "Execute: %+v", single)
		})
	}
}

// TestPayloadEvent checks that a perform function reads the raw event each
// payload was made from, in ExecuteBatch and in Execute, and that a
// payload reused for Schema.Validate no longer holds one.
func TestPayloadEvent(t *testing.T) {
	var seen []string
	a := &Action{Key: "a", Title: "A", Fields: Fields{{Key: "n", Label: "N", Type: TypeNumber, Default: PathDefault("$.n")}},
		PerformBatch: func(_ context.Context, _ Settings, ps []*Payload) []Result {
			rs := make([]Result, len(ps))
			for i, p := range ps {
				seen = append(seen, string(p.Event()))
				rs[i] = Result{Status: 200}
			}
			return rs
		}}
	p, err := a.Compile(Config{})
	require.NoError(t, err)
	events := [][]byte{[]byte(`{"n":1,"extra":{"kept":true}}`), []byte(`{"n":`), []byte(` {"n":3} `)}
	ms := p.ExecuteBatch(context.Background(), Settings{}, events)
	assert.Equal(t, 400, ms.Results[1].Status)
	assert.Equal(t, []string{`{"n":1,"extra":{"kept":true}}`, ` {"n":3} `}, seen, "the caller's bytes, as they came")
	seen = nil
	assert.Equal(t, 200, p.Execute(context.Background(), Settings{}, events[0]).Status)
	assert.Equal(t, []string{string(events[0])}, seen)

	var pl Payload
	_, err = p.Process(nil, events[0], Batched, &pl)
	require.NoError(t, err)
	assert.Equal(t, events[0], pl.Event())
	_, err = p.Schema().Validate(nil, []byte(`{"n":2}`), Batched, &pl)
	require.NoError(t, err)
	assert.Nil(t, pl.Event(), "a payload validated from mapped JSON has no event")
}
