// Package destination is a kit for writing Segment Actions destinations in
// Go: the definitions, validation, subscriptions and per-event results of
// Segment's actions framework, working on raw JSON events.
//
// A destination is a Definition: its settings (Authentication.Fields) and
// its actions. An Action has ordered Fields, each with a type, a label,
// whether it is required (always, or under conditions on other fields),
// choices, bounds, and a default mapping; and perform functions that
// deliver valid payloads. Definition.Manifest writes the definition in the
// shape Segment's tooling reads.
//
// Action.Compile turns an action, a user mapping and a subscription into a
// Pipeline, the per-event path:
//
//	event ─► subscription (FQL) ─► mapping (field defaults ∪ user mapping)
//	      ─► validation and coercion ─► Payload ─► perform
//
// Pipeline.Process runs one event up to the Payload; Pipeline.Execute and
// Pipeline.ExecuteBatch also perform it and report results; a destination
// with its own writer (as the SingleStore one) calls Process itself.
//
// # Contract
//
// Events are raw JSON bytes and stay so: they are read with gjson and never
// decoded into maps; values are copied as their JSON text, so big integers
// keep every digit. A payload that needs no change is the mapping's output
// itself. Checking that an event is well-formed JSON is the caller's job at
// the edge: CheckDepth first (nesting deeper than MaxDepth levels is
// refused; recursive validators crash on a few million), then
// gjson.ValidBytes. Malformed input never panics. The entry points that
// validate JSON themselves (Execute, ExecuteBatch, MergeMapping and so
// Action.Compile, Definition.ParseSettings) run CheckDepth first.
//
// The behaviour is Segment's, including its quirks, so that a subscription
// selects, and validation accepts and rejects, exactly what they do on
// Segment's side, with the same messages:
//
//   - Subscriptions: see Subscription (no operator precedence, strict
//     string equality, lodash-style paths).
//   - Validation: see Schema (null and "" removal, ajv's type coercion,
//     unknown keys removed, every error reported, messages such as
//     "Event must be a string but it was an object." and "The root value is
//     missing the required field 'event'. The root value must match "then"
//     schema.").
//   - Results: see MultiStatus and ResultOf (400 PAYLOAD_VALIDATION_FAILED
//     for an invalid or unselected event, the destination's status
//     otherwise, one result per event in input order).
//
// Definitions, compiled pipelines, subscriptions and schemas are immutable
// and safe for concurrent use. Errors wrap the package's sentinels
// (ErrValidation, ErrNoMatch, ErrInvalidSubscription, ErrInvalidDefinition,
// ErrInvalidEvent, ErrTooDeep) and are typed (*ValidationError,
// *SubscriptionError, *DefinitionError, *DepthError, *Error); go-playground/validator checks definitions and
// typed settings structs (ValidateStruct), and its types never reach
// callers.
//
// The package knows nothing of any particular destination: the SingleStore
// one is in the singlestore subpackage, and the package example builds a
// webhook destination.
package destination
