package destination

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type subscriptionCase struct {
	Name         string          `json:"name"`
	Subscription string          `json:"subscription"`
	Event        json.RawMessage `json:"event"`
	Match        *bool           `json:"match"`
	Error        *string         `json:"error"`
	// ErrorAt, in the generated cases, is where the reference failed:
	// "parse" (parseFql) or "validate" (evaluating the parsed subscription).
	ErrorAt string `json:"error_at"`
	Note    string `json:"note"`
}

func readNDJSON[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &c), "line %d", len(out)+1)
		out = append(out, c)
	}
	require.NoError(t, sc.Err())
	return out
}

// TestSubscriptionConformance runs the reference's subscription vectors: every
// case must parse (or fail to parse) and match exactly as the reference did.
func TestSubscriptionConformance(t *testing.T) {
	cases := readNDJSON[subscriptionCase](t, "testdata/subscription.ndjson")
	require.Len(t, cases, 143)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			sub, err := ParseSubscription(c.Subscription)
			if c.Error != nil {
				require.Error(t, err, "the reference refuses %q", c.Subscription)
				assert.True(t, errors.Is(err, ErrInvalidSubscription))
				var se *SubscriptionError
				require.ErrorAs(t, err, &se)
				assert.LessOrEqual(t, se.Offset, len(c.Subscription))
				return
			}
			require.NoError(t, err, "note: %s", c.Note)
			require.NotNil(t, c.Match)
			assert.Equal(t, *c.Match, sub.Match(c.Event), "%s on %s (parsed as %s; note: %s)", c.Subscription, c.Event, sub.Describe(), c.Note)
		})
	}
}

// TestSubscriptionConformanceGenerated runs the generated cases: random
// events and random subscriptions over the fields, operators, functions and
// groups the reference supports, with the results Segment's own library gave
// (scripts/conformance, see testdata/README.md). Every case must parse (or
// fail to parse) and match exactly as the reference did.
func TestSubscriptionConformanceGenerated(t *testing.T) {
	cases := readNDJSON[subscriptionCase](t, "testdata/subscription-generated.ndjson")
	require.Len(t, cases, 500)
	// The cases must keep covering groups that start with a function call,
	// both kinds of failure and both results.
	groupCall := regexp.MustCompile(`\(\s*!?(contains|match)\(`)
	count := map[string]int{}
	for _, c := range cases {
		if groupCall.MatchString(c.Subscription) {
			count["group starting with a call"]++
		}
		switch {
		case c.Error != nil:
			count["error at "+c.ErrorAt]++
		case *c.Match:
			count["match"]++
		default:
			count["no match"]++
		}
	}
	for _, k := range []string{"group starting with a call", "error at parse", "error at validate", "match", "no match"} {
		assert.GreaterOrEqual(t, count[k], 5, "cases: %s", k)
	}
	agree := 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			sub, err := ParseSubscription(c.Subscription)
			if c.Error != nil && c.ErrorAt == "parse" {
				require.Error(t, err, "the reference refuses %q (%s)", c.Subscription, *c.Error)
				assert.True(t, errors.Is(err, ErrInvalidSubscription))
				agree++
				return
			}
			require.NoError(t, err, "the reference accepts %q", c.Subscription)
			matched, failed := sub.evaluate(string(c.Event))
			if c.Error != nil {
				require.Equal(t, "validate", c.ErrorAt)
				// The reference parsed it and failed evaluating it: the
				// evaluation reached an empty group or a path made only of
				// separators.
				if assert.True(t, failed, "the reference fails on %q (%s) on %s; parsed as %s", c.Subscription, *c.Error, c.Event, sub.Describe()) {
					assert.False(t, matched)
					agree++
				}
				return
			}
			require.NotNil(t, c.Match)
			assert.False(t, failed, "%s on %s (parsed as %s)", c.Subscription, c.Event, sub.Describe())
			if assert.Equal(t, *c.Match, matched, "%s on %s (parsed as %s)", c.Subscription, c.Event, sub.Describe()) {
				agree++
			}
		})
	}
	t.Logf("generated conformance: %d of %d cases agree with the reference", agree, len(cases))
}

// TestEmptyGroup pins the reference's handling of a group that holds no
// condition: a group ends at the first ")", also that of a function call,
// and an empty group is kept; the reference throws when the evaluation
// reaches it (validate fails), and here that event does not match.
// Results taken from @segment/destination-subscriptions 3.37.0.
func TestEmptyGroup(t *testing.T) {
	events := map[string]string{
		"A":    `{"type":"track","event":"A"}`,
		"B":    `{"type":"track","event":"B"}`,
		"page": `{"type":"page"}`,
	}
	const parseError, fails = "parse error", "fails"
	for _, c := range []struct {
		fql  string
		want map[string]string // event → "true", "false", fails
	}{
		{`(contains(type, "t") or event = "A")`, map[string]string{"A": fails, "B": fails, "page": fails}},
		{`event = "A" or (contains(type, "t"))`, map[string]string{"A": "true", "B": fails, "page": fails}},
		{`event = "A" and (contains(type, "t"))`, map[string]string{"A": fails, "B": "false", "page": "false"}},
		{`(contains(name, "t") or event = "A")`, map[string]string{"A": "true", "B": "false", "page": "false"}},
		{`(match(event, "A*")) and type = "track"`, map[string]string{"A": "true", "B": "false", "page": "false"}},
		{`(!contains(messageId, "x") and event = "A")`, map[string]string{"A": fails, "B": fails, "page": fails}},
		{`type = "track" or ()`, map[string]string{"A": "true", "B": "true", "page": fails}},
		{`event = "B" or properties.\. = "a"`, map[string]string{"A": fails, "B": "true", "page": fails}},
		{`()`, nil},
		{`(contains(type, "t"))`, nil},
	} {
		t.Run(c.fql, func(t *testing.T) {
			sub, err := ParseSubscription(c.fql)
			if c.want == nil {
				var se *SubscriptionError
				require.ErrorAs(t, err, &se, parseError)
				assert.Equal(t, 0, se.Offset)
				return
			}
			require.NoError(t, err)
			for name, want := range c.want {
				matched, failed := sub.evaluate(events[name])
				got := strconv.FormatBool(matched)
				if failed {
					got = fails
				}
				assert.Equal(t, want, got, "%s on %s (parsed as %s)", c.fql, events[name], sub.Describe())
				assert.Equal(t, matched, sub.MatchString(events[name]))
			}
		})
	}
}
