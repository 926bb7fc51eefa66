// Package mapping is a Go implementation of Segment's mapping-kit: the
// language of @-directives that turns an event into the fields of an action.
//
// A mapping is compiled once and applied to many events:
//
//	m, err := mapping.Compile([]byte(`{"id":{"@path":"$.messageId"},"plan":{"@case":{"operator":"upper","value":{"@path":"$.traits.plan"}}}}`))
//	if err != nil {
//		// err lists every problem, each a *ValidationError; errors.Is(err, ErrInvalidMapping)
//	}
//	out, defined, err := m.Apply(event) // out is JSON; defined is false when the whole mapping resolved to undefined
//
// # Contract
//
// Compile validates the mapping the way mapping-kit's validate does and
// reports every problem with mapping-kit's wording
// ("/hash/@template should be a string or a mapping directive but it is an object."),
// as ValidationErrors. A compiled *Mapping is immutable and safe for
// concurrent use by any number of goroutines.
//
// Apply and AppendApply take one event as raw JSON bytes, which must be a JSON
// object. The event is read in place with gjson and never decoded into Go
// maps (except by @liquid, whose template engine needs Go values); values
// copied from the event keep their exact JSON text, so integers keep every
// digit. Checking that the event is well-formed JSON (gjson.ValidBytes) is the
// caller's job: a malformed event never causes a panic, but the output is then
// unspecified. The event must not be modified while Apply runs.
//
// The output follows mapping-kit's transform: keys whose value resolves to
// undefined are removed (recursively, also in objects inside arrays), null is
// kept, and an undefined array element is written as null. When the whole
// mapping resolves to undefined (a top-level directive with nothing to read),
// defined is false and nothing is appended.
//
// A directive that fails at run time returns a *RuntimeError whose message is
// mapping-kit's own ("@merge requires a \"direction\" key",
// "@path: expected string, got number").
//
// # Directives
//
// @path, @template, @literal, @if, @case, @replace, @arrayPath, @merge,
// @transform, @flatten, @json, @excludeWhenNull and @liquid, with the
// semantics of mapping-kit including its JavaScript behaviour: full Unicode
// case mapping (straße upper-cases to STRASSE), String#replace replacement
// patterns ($& and $$), Number#toString and Array#toString when values are
// printed into strings, lengths in UTF-16 code units, ".length" through
// @path, and the __segment_internal_directive root key.
//
// Deliberate differences from the JavaScript implementation: integers keep
// their exact digits everywhere a JavaScript number would have been rounded
// to a double (except inside @liquid arithmetic); and when an object in the
// event has a duplicate key, the first occurrence is read (JSON.parse keeps
// the last).
package mapping
