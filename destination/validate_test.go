package destination

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendFields are the fields of a Send Data-like action, enough to exercise
// every rule of the validation.
var sendFields = Fields{
	{Key: "messageid", Label: "Message ID", Type: TypeString, Required: Always},
	{Key: "type", Label: "Type", Type: TypeString, Required: Always, Choices: []Choice{
		{Label: "Track", Value: "track"}, {Label: "Identify", Value: "identify"}, {Label: "Page", Value: "page"},
		{Label: "Screen", Value: "screen"}, {Label: "Group", Value: "group"}, {Label: "Alias", Value: "alias"},
	}},
	{Key: "event", Label: "Event", Type: TypeString, Required: RequiredWhen(Condition{FieldKey: "type", Operator: Is, Value: "track"})},
	{Key: "properties", Label: "Properties", Type: TypeObject},
	{Key: "count", Label: "Count", Type: TypeInteger},
	{Key: "max_batch_size", Label: "Max Batch Size", Type: TypeNumber, Required: Always, Minimum: Float(1), Maximum: Float(1000)},
	{Key: "enable_batching", Label: "Enable Batching", Type: TypeBoolean},
	{Key: "tags", Label: "Tags", Type: TypeString, Multiple: true},
	{Key: "short", Label: "Short", Type: TypeString, Minimum: Float(2), Maximum: Float(4)},
	{Key: "zero_min", Label: "Zero Min", Type: TypeNumber, Minimum: Float(0), Maximum: Float(10)},
	{Key: "when", Label: "When", Type: TypeDatetime},
	{Key: "maybe", Label: "Maybe", Type: TypeString, AllowNull: true, Choices: []Choice{{Value: "a"}, {Value: "b"}}},
	{Key: "address", Label: "Address", Type: TypeObject, Properties: Fields{
		{Key: "city", Label: "City", Type: TypeString, Required: Always},
		{Key: "zip", Label: "Zip", Type: TypeInteger},
	}},
}

func validateJSON(t *testing.T, fs Fields, data string, d Delivery) (string, error) {
	t.Helper()
	s, err := NewSchema(fs)
	require.NoError(t, err)
	var p Payload
	_, err = s.Validate(nil, []byte(data), d, &p)
	if err != nil {
		return "", err
	}
	return string(p.JSON), nil
}

func TestValidateMessagesAndCoercion(t *testing.T) {
	base := `"messageid":"m","type":"identify","max_batch_size":100`
	tests := []struct {
		name  string
		data  string
		d     Delivery
		want  string // the payload, when valid
		error string // Segment's message, when not
	}{
		{name: "valid as is", data: `{` + base + `}`, want: `{` + base + `}`},
		{name: "missing required", data: `{"type":"identify","max_batch_size":100}`,
			error: `The root value is missing the required field 'messageid'.`},
		{name: "conditional required", data: `{"messageid":"m","type":"track","max_batch_size":100}`,
			error: `The root value is missing the required field 'event'. The root value must match "then" schema.`},
		{name: "conditions come before required", data: `{"type":"track","max_batch_size":100}`,
			error: `The root value is missing the required field 'event'. The root value must match "then" schema. The root value is missing the required field 'messageid'.`},
		{name: "null counts as missing", data: `{"messageid":"m","type":"track","event":null,"max_batch_size":100}`,
			error: `The root value is missing the required field 'event'. The root value must match "then" schema.`},
		{name: "enum", data: `{"messageid":"m","type":"delete","max_batch_size":100}`,
			error: `Type must be one of: "track", "identify", "page", "screen", "group", or "alias".`},
		{name: "object expected", data: `{` + base + `,"properties":[1,2]}`,
			error: `Properties must be an object but it was an array.`},
		{name: "object expected, string", data: `{` + base + `,"properties":"str"}`,
			error: `Properties must be an object but it was a string.`},
		{name: "string expected", data: `{` + base + `,"event":{"a":1}}`,
			error: `Event must be a string but it was an object.`},
		{name: "type error then enum", data: `{"messageid":"m","type":{"a":1},"max_batch_size":100}`,
			error: `Type must be a string but it was an object. Type must be one of: "track", "identify", "page", "screen", "group", or "alias".`},
		{name: "number coerced to string", data: `{"messageid":4242,"type":"identify","max_batch_size":100}`,
			want: `{"messageid":"4242","type":"identify","max_batch_size":100}`},
		{name: "big integer keeps digits", data: `{"messageid":12345678901234567890,"type":"identify","max_batch_size":100}`,
			want: `{"messageid":"12345678901234567890","type":"identify","max_batch_size":100}`},
		{name: "float to string as JavaScript", data: `{"messageid":1.50,"type":"identify","max_batch_size":1e2}`,
			want: `{"messageid":"1.5","type":"identify","max_batch_size":1e2}`},
		{name: "boolean to string", data: `{"messageid":true,"type":"identify","max_batch_size":100}`,
			want: `{"messageid":"true","type":"identify","max_batch_size":100}`},
		{name: "string to number", data: `{"messageid":"m","type":"identify","max_batch_size":"250"}`,
			want: `{"messageid":"m","type":"identify","max_batch_size":250}`},
		{name: "string to integer refused", data: `{` + base + `,"count":"2.5"}`,
			error: `Count must be an integer but it was a string.`},
		{name: "string to boolean", data: `{` + base + `,"enable_batching":"false"}`,
			want: `{` + base + `,"enable_batching":false}`},
		{name: "one-item array unwrapped", data: `{"messageid":["m"],"type":"identify","max_batch_size":100}`,
			want: `{"messageid":"m","type":"identify","max_batch_size":100}`},
		{name: "scalar wrapped for multiple", data: `{` + base + `,"tags":"a"}`,
			want: `{` + base + `,"tags":["a"]}`},
		{name: "multiple items coerced", data: `{` + base + `,"tags":["a",1,null]}`,
			want: `{` + base + `,"tags":["a","1"]}`},
		{name: "maximum", data: `{"messageid":"m","type":"identify","max_batch_size":5000}`,
			error: `Max Batch Size must be equal to or less than 1000.`},
		{name: "minimum", data: `{"messageid":"m","type":"identify","max_batch_size":0}`,
			error: `Max Batch Size must be equal to or greater than 1.`},
		{name: "minimum 0 is ignored", data: `{` + base + `,"zero_min":-5}`,
			want: `{` + base + `,"zero_min":-5}`},
		{name: "string length", data: `{` + base + `,"short":"abcdef"}`,
			error: `Short must be 4 characters or fewer but it was 6 characters.`},
		{name: "string length counts characters", data: `{` + base + `,"short":"ü"}`,
			error: `Short must be 2 characters or more but it was 1 character.`},
		{name: "unknown keys removed", data: `{` + base + `,"nope":1,"also":{"x":1}}`,
			want: `{` + base + `}`},
		{name: "empty string kept in batch", data: `{` + base + `,"event":""}`,
			want: `{` + base + `,"event":""}`},
		{name: "empty string dropped in single", data: `{"messageid":"","type":"identify","max_batch_size":100}`, d: Single,
			error: `The root value is missing the required field 'messageid'.`},
		{name: "empty string dropped where not a string", data: `{` + base + `,"count":""}`,
			want: `{` + base + `}`},
		{name: "null removed", data: `{` + base + `,"properties":null}`,
			want: `{` + base + `}`},
		{name: "null allowed", data: `{` + base + `,"maybe":null}`,
			want: `{` + base + `,"maybe":null}`},
		{name: "choice with null", data: `{` + base + `,"maybe":"c"}`,
			error: `Maybe must be one of: "a", "b", or null.`},
		{name: "datetime", data: `{` + base + `,"when":"2025-07-07T10:19:25Z"}`,
			want: `{` + base + `,"when":"2025-07-07T10:19:25Z"}`},
		{name: "datetime invalid", data: `{` + base + `,"when":"not a date"}`,
			error: `When must be a valid date-like string but it was not.`},
		{name: "datetime object", data: `{` + base + `,"when":{}}`,
			error: `When must be a string or number but it was an object.`},
		{name: "nested required", data: `{` + base + `,"address":{"zip":"123"}}`,
			error: `Address is missing the required field 'city'.`},
		{name: "nested coerced and cleaned", data: `{` + base + `,"address":{"city":"Paris","zip":"75001","extra":1}}`,
			want: `{` + base + `,"address":{"city":"Paris","zip":75001}}`},
		{name: "nested type", data: `{` + base + `,"address":{"city":{},"zip":1}}`,
			error: `City must be a string but it was an object.`},
		{name: "duplicate keys: the last wins", data: `{"messageid":"a","type":"identify","messageid":"b","max_batch_size":100}`,
			want: `{"messageid":"b","type":"identify","max_batch_size":100}`},
		{name: "big numbers untouched", data: `{` + base + `,"properties":{"n":12345678901234567890}}`,
			want: `{` + base + `,"properties":{"n":12345678901234567890}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := validateJSON(t, sendFields, tc.data, tc.d)
			if tc.error != "" {
				require.Error(t, err)
				assert.Equal(t, tc.error, err.Error())
				var ve *ValidationError
				require.True(t, errors.As(err, &ve))
				assert.True(t, errors.Is(err, ErrValidation))
				for _, fe := range ve.Errors {
					assert.NotEmpty(t, fe.Path)
				}
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, got)
			assert.True(t, json.Valid([]byte(got)))
		})
	}
}

func TestValidateErrorPaths(t *testing.T) {
	_, err := validateJSON(t, sendFields, `{"messageid":"m","type":"identify","max_batch_size":100,"tags":[{},"a"],"address":{"city":1,"zip":"x"}}`, Batched)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	var paths []string
	for _, fe := range ve.Errors {
		paths = append(paths, fe.Path+" "+fe.Pointer)
	}
	assert.Equal(t, []string{"$.tags[0] /tags/0", "$.address.zip /address/zip"}, paths)
	assert.Equal(t, `The value at /tags/0 must be a string but it was an object. Zip must be an integer but it was a string.`, err.Error())
}

func TestValidateZeroCopy(t *testing.T) {
	s, err := NewSchema(sendFields)
	require.NoError(t, err)
	data := []byte(`{"messageid":"m","type":"identify","max_batch_size":100,"properties":{"a":[1,2]}}`)
	var p Payload
	dst, err := s.Validate(nil, data, Batched, &p)
	require.NoError(t, err)
	assert.Empty(t, dst, "a payload that needs no change is not copied")
	assert.Equal(t, &data[0], &p.JSON[0])
	assert.Equal(t, `{"a":[1,2]}`, p.Get("properties").Raw)
	assert.Equal(t, "identify", p.Value(1).String())
	assert.False(t, p.Get("event").Exists())
	assert.False(t, p.Get("no such field").Exists())
}

func TestValidateNotAnObject(t *testing.T) {
	for data, msg := range map[string]string{
		`[1]`:  "The root value must be an object but it was an array.",
		`"x"`:  "The root value must be an object but it was a string.",
		`null`: "The root value must be an object but it was null.",
	} {
		_, err := validateJSON(t, sendFields, data, Batched)
		assert.EqualError(t, err, msg)
	}
}

func TestConditions(t *testing.T) {
	fields := Fields{
		{Key: "mode", Label: "Mode", Type: TypeString},
		{Key: "other", Label: "Other", Type: TypeString, AllowNull: true},
		{Key: "obj", Label: "Obj", Type: TypeObject},
		{Key: "a", Label: "A", Type: TypeString, Required: RequiredWhen(Condition{FieldKey: "mode", Operator: IsNot, Value: "x"})},
		{Key: "b", Label: "B", Type: TypeString, Required: RequiredWhen(Condition{FieldKey: "other", Operator: Is})},
		{Key: "c", Label: "C", Type: TypeString, Required: RequiredWhenAny(
			Condition{FieldKey: "mode", Operator: Is, Value: "y"},
			Condition{FieldKey: "obj.kind", Operator: Is, Value: "k"},
		)},
	}
	tests := []struct {
		data    string
		missing []string
	}{
		{`{"b":"-"}`, nil},                                  // mode absent: is_not needs presence
		{`{"mode":"z","b":"-"}`, []string{"a"}},             // mode present and not x
		{`{"mode":"x"}`, []string{"b"}},                     // other absent: b required
		{`{"mode":"x","other":null}`, []string{"b"}},        // null counts as absent for one condition
		{`{"mode":"x","other":"o"}`, nil},                   // other present
		{`{"mode":"y","other":"o","a":"-"}`, []string{"c"}}, // any: mode = y
		{`{"mode":"x","other":"o","obj":{"kind":"k"}}`, []string{"c"}},
		{`{"mode":"x","other":"o","obj":{"kind":"j"}}`, nil},
	}
	for _, tc := range tests {
		_, err := validateJSON(t, fields, tc.data, Batched)
		if tc.missing == nil {
			assert.NoError(t, err, tc.data)
			continue
		}
		want := ""
		for _, m := range tc.missing {
			if want != "" {
				want += " "
			}
			want += "The root value is missing the required field '" + m + `'. The root value must match "then" schema.`
		}
		assert.EqualError(t, err, want, tc.data)
	}
}

func TestPayloadReuse(t *testing.T) {
	s, err := NewSchema(sendFields)
	require.NoError(t, err)
	var p Payload
	_, err = s.Validate(nil, []byte(`{"messageid":"a","type":"page","max_batch_size":1}`), Batched, &p)
	require.NoError(t, err)
	assert.Equal(t, "a", p.Get("messageid").String())
	_, err = s.Validate(nil, []byte(`{"type":"page"}`), Batched, &p)
	require.Error(t, err)
	assert.Nil(t, p.JSON, "a failed validation leaves no payload behind")
	assert.False(t, p.Get("messageid").Exists())
	assert.False(t, p.Value(0).Exists())
	_, err = s.Validate(nil, []byte(`{"messageid":"b","type":"page","max_batch_size":1}`), Batched, &p)
	require.NoError(t, err)
	assert.Equal(t, "b", p.Get("messageid").String())
}
