package singlestore

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/s2segment/s2segment/destination"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestManifestMatchesReference compares the manifest with the reference
// destination's definition: every settings and action field (label,
// description, type, required, default, choices, minimum, maximum), the
// default subscription, and nothing more or less. The Warehouse action,
// which the reference does not have, is left out of the comparison and
// checked to be listed beside Send Data.
func TestManifestMatchesReference(t *testing.T) {
	ref, err := os.ReadFile("testdata/reference-manifest.json")
	require.NoError(t, err)
	full, err := Manifest()
	require.NoError(t, err)
	require.True(t, json.Valid(full))
	var m map[string]any
	require.NoError(t, json.Unmarshal(full, &m))
	actions := m["actions"].(map[string]any)
	require.Contains(t, actions, WarehouseActionKey, "the manifest lists the Warehouse action")
	delete(actions, WarehouseActionKey)
	got, err := json.Marshal(m)
	require.NoError(t, err)
	assert.Empty(t, jsonValuesEqual(ref, got), "manifest differs from the reference:\n%s", got)

	// Field by field too, so a failure names the property.
	var refM, gotM struct {
		Authentication struct {
			Fields map[string]map[string]any `json:"fields"`
		} `json:"authentication"`
		Actions map[string]struct {
			DefaultSubscription string                    `json:"defaultSubscription"`
			Fields              map[string]map[string]any `json:"fields"`
		} `json:"actions"`
	}
	require.NoError(t, json.Unmarshal(ref, &refM))
	require.NoError(t, json.Unmarshal(got, &gotM))
	for key, want := range refM.Authentication.Fields {
		for _, prop := range []string{"label", "description", "type", "required", "default"} {
			assert.Equal(t, want[prop], gotM.Authentication.Fields[key][prop], "setting %s: %s", key, prop)
		}
	}
	send := refM.Actions["send"]
	assert.Equal(t, send.DefaultSubscription, gotM.Actions["send"].DefaultSubscription)
	for key, want := range send.Fields {
		for _, prop := range []string{"label", "description", "type", "required", "default", "choices", "minimum", "maximum", "unsafe_hidden"} {
			assert.Equal(t, want[prop], gotM.Actions["send"].Fields[key][prop], "field %s: %s", key, prop)
		}
	}
}

func TestDefinitionIsValidAndOrdered(t *testing.T) {
	def := Definition()
	require.NoError(t, def.Validate())
	send, ok := def.Action(SendActionKey)
	require.True(t, ok)
	// The first eleven fields are the columns, in column order.
	for i, c := range Columns {
		assert.Equal(t, columnKeys[i], send.Fields[i].Key, "column %s", c)
	}
	// The default subscription parses and selects the six event types.
	sub, err := destination.ParseSubscription(send.DefaultSubscription)
	require.NoError(t, err)
	for _, typ := range []string{"track", "identify", "page", "screen", "group", "alias"} {
		assert.True(t, sub.Match([]byte(`{"type":"`+typ+`"}`)), typ)
	}
	assert.False(t, sub.Match([]byte(`{"type":"delete"}`)))
	// Definition returns a fresh copy each time.
	def.Actions[0].Fields[0].Label = "changed"
	assert.Equal(t, "Message ID", Definition().Actions[0].Fields[0].Label)
}

func TestSettings(t *testing.T) {
	good := `{"host":"db.example.com","username":"u","password":"p","dbName":"analytics","extra":"dropped"}`
	s, err := ParseSettings([]byte(good))
	require.NoError(t, err)
	assert.Equal(t, Settings{Host: "db.example.com", Port: DefaultPort, Username: "u", Password: "p", DBName: "analytics", TableName: DefaultTable}, s)
	assert.NotContains(t, s.String(), "p\"", "the password is never printed")
	assert.Contains(t, s.String(), "db.example.com")

	_, err = ParseSettings([]byte(`{"host":"h","password":"p","dbName":"d"}`))
	assert.EqualError(t, err, "The root value is missing the required field 'username'.")

	_, err = ParseSettings([]byte(`{"host":"h","username":"u","password":"p","dbName":"d","port":"99999"}`))
	assert.EqualError(t, err, "Port must be a port number from 1 to 65535 but it was \"99999\".")

	_, err = ParseSettings([]byte(`{"host":"h","username":"u","password":"p","dbName":"a/b"}`))
	assert.ErrorIs(t, err, ErrInvalidIdentifier)

	_, err = ParseSettings([]byte(`{"host":"h","username":"u","password":"hunter2","dbName":"d","tableName":""}`))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
}
