package singlestore

import (
	"encoding/json"

	"github.com/s2segment/s2segment/destination"
)

// Setting keys of the destination.
const (
	SettingHost      = "host"
	SettingPort      = "port"
	SettingUsername  = "username"
	SettingPassword  = "password"
	SettingDBName    = "dbName"
	SettingTableName = "tableName"
)

// Defaults of the settings.
const (
	DefaultPort  = "443"
	DefaultTable = "segment_data"
)

// SendActionKey is the key of the Send Data action.
const SendActionKey = "send"

// Field keys of the Send Data action, in the order of its fields. The first
// eleven are the table's columns, in column order.
const (
	FieldMessageID      = "messageid"
	FieldTimestamp      = "timestamp"
	FieldType           = "type"
	FieldEvent          = "event"
	FieldName           = "name"
	FieldProperties     = "properties"
	FieldUserID         = "userId"
	FieldAnonymousID    = "anonymousId"
	FieldGroupID        = "groupId"
	FieldTraits         = "traits"
	FieldContext        = "context"
	FieldMaxBatchSize   = "max_batch_size"
	FieldEnableBatching = "enable_batching"
)

// DefaultSubscription selects every event type the action writes.
const DefaultSubscription = `type = "track" or type = "screen" or type = "identify" or type = "page" or type = "group" or type = "alias"`

// Limits of max_batch_size.
const (
	DefaultBatchSize = 100
	MaxBatchSize     = 1000
)

// settingsFields are the destination's settings, with the reference's
// labels, descriptions and defaults.
func settingsFields() destination.Fields {
	return destination.Fields{
		{Key: SettingHost, Label: "Host", Description: "The host of the SingleStore database.", Type: destination.TypeString, Required: destination.Always},
		{Key: SettingPort, Label: "Port", Description: "The port of the SingleStore Data API. Defaults to 443.", Type: destination.TypeString, Default: destination.LiteralDefault(DefaultPort)},
		{Key: SettingUsername, Label: "Username", Description: "The username of the SingleStore database.", Type: destination.TypeString, Required: destination.Always},
		{Key: SettingPassword, Label: "Password", Description: "The password of the SingleStore database.", Type: destination.TypePassword, Required: destination.Always},
		{Key: SettingDBName, Label: "Database Name", Description: "The name of the database.", Type: destination.TypeString, Required: destination.Always},
		{Key: SettingTableName, Label: "Table Name", Description: `The name of the table. Defaults to "segment_data".`, Type: destination.TypeString, Required: destination.Always, Default: destination.LiteralDefault(DefaultTable)},
	}
}

// sendFields are the fields of the Send Data action, with the reference's
// labels, descriptions, defaults, choices and bounds.
func sendFields() destination.Fields {
	path := destination.PathDefault
	return destination.Fields{
		{Key: FieldMessageID, Label: "Message ID", Description: "A unique identifier for the message.", Type: destination.TypeString, Required: destination.Always, Default: path("$.messageId")},
		{Key: FieldTimestamp, Label: "Timestamp", Description: "The timestamp of the event.", Type: destination.TypeString, Required: destination.Always, Default: path("$.timestamp")},
		{Key: FieldType, Label: "Type", Description: `The type of the event (e.g., "track", "identify", "page", "screen", "group", "alias").`, Type: destination.TypeString, Required: destination.Always,
			Choices: []destination.Choice{
				{Label: "Track", Value: "track"}, {Label: "Identify", Value: "identify"}, {Label: "Page", Value: "page"},
				{Label: "Screen", Value: "screen"}, {Label: "Group", Value: "group"}, {Label: "Alias", Value: "alias"},
			},
			Default: path("$.type")},
		{Key: FieldEvent, Label: "Event", Description: `The name of the event. Only required for "track" events.`, Type: destination.TypeString,
			Required: destination.RequiredWhen(destination.Condition{FieldKey: FieldType, Operator: destination.Is, Value: "track"}),
			Default:  path("$.event")},
		{Key: FieldName, Label: "Name", Description: "The name of the page or screen.", Type: destination.TypeString, Default: path("$.name")},
		{Key: FieldProperties, Label: "Properties", Description: "The properties of the track, page or screen event.", Type: destination.TypeObject, Default: path("$.properties")},
		{Key: FieldUserID, Label: "User ID", Description: "The user ID associated with the event.", Type: destination.TypeString, Default: path("$.userId")},
		{Key: FieldAnonymousID, Label: "Anonymous ID", Description: "The anonymous ID associated with the event.", Type: destination.TypeString, Default: path("$.anonymousId")},
		{Key: FieldGroupID, Label: "Group ID", Description: "The group ID associated with the event.", Type: destination.TypeString, Default: path("$.groupId")},
		{Key: FieldTraits, Label: "Traits", Description: "The traits of the user associated with the event.", Type: destination.TypeObject,
			Default: json.RawMessage(`{"@if":{"exists":{"@path":"$.context.traits"},"then":{"@path":"$.context.traits"},"else":{"@path":"$.traits"}}}`)},
		{Key: FieldContext, Label: "Context", Description: "The context of the event. Contains user environment information.", Type: destination.TypeObject, Default: path("$.context")},
		{Key: FieldMaxBatchSize, Label: "Max Batch Size", Description: "The maximum number of rows to include in a batch.", Type: destination.TypeNumber, Required: destination.Always,
			Default: destination.LiteralDefault(DefaultBatchSize), Minimum: destination.Float(1), Maximum: destination.Float(MaxBatchSize)},
		{Key: FieldEnableBatching, Label: "Enable Batching", Description: "Batch events to SingleStore", Type: destination.TypeBoolean,
			Default: destination.LiteralDefault(true), UnsafeHidden: true},
	}
}

// Definition returns the destination's definition: the SingleStore
// settings and the Send Data action, field for field those of Segment's
// SingleStore (Actions) destination. Each call returns a fresh copy the
// caller may modify. Its actions describe (Manifest reads them) and have
// no perform functions: Writer.Action is Send Data performing into a
// table, and WarehouseWriter.Action is the warehouse action performing
// into the warehouse schema, each bound to its Data API connection.
func Definition() *destination.Definition {
	return &destination.Definition{
		Name: "SingleStore",
		Slug: "actions-singlestore",
		Mode: "cloud",
		Authentication: &destination.Authentication{
			Scheme: "custom",
			Fields: settingsFields(),
		},
		Actions: []*destination.Action{SendAction(), WarehouseAction()},
	}
}

// SendAction returns the Send Data action.
func SendAction() *destination.Action {
	return &destination.Action{
		Key:                 SendActionKey,
		Title:               "Send Data",
		Description:         "Send data to SingleStore.",
		DefaultSubscription: DefaultSubscription,
		Fields:              sendFields(),
	}
}

// Manifest returns the definition as JSON (see destination.Definition.Manifest).
func Manifest() ([]byte, error) { return Definition().Manifest() }
