package replay

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Kind is what became of one event or one unreadable input.
type Kind uint8

// The kinds, as reported in the summary and in the report's "status".
const (
	Written Kind = iota
	Filtered
	Rejected
	Failed
	ReadError
	numKinds
)

var kindNames = [numKinds]string{"written", "filtered", "rejected", "failed", "read_error"}

// String returns the kind as the report writes it: "written", "filtered",
// "rejected", "failed" or "read_error".
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Transport counts the requests behind a run, as the executor saw them.
type Transport struct {
	Requests     int64 // HTTP requests (or request bodies written, for a dry run)
	Retries      int64 // attempts tried again
	Splits       int64 // requests halved after a too-large answer
	BytesSent    int64 // request body bytes
	RowsAffected int64 // rows the server reported as changed (new rows)
	// RetryReasons counts the retries by their cause, such as
	// "Error 1213: Deadlock found when trying to get lock" or
	// "503 Service Unavailable"; nil when not known.
	RetryReasons map[string]int64
}

// Reason is one cause of failure with how often it occurred.
type Reason struct {
	Kind Kind
	// Text is the cause: Segment's validation message, the Data API's
	// answer, or the kind of read error ("malformed JSON").
	Text  string
	Count int64
	// Example locates the first occurrence, such as
	// "events.ndjson line 7 (messageId m-7)" or the read error itself.
	Example string
}

// DefaultMaxReasons bounds the distinct failure reasons a Summary keeps of
// each kind.
const DefaultMaxReasons = 64

// Summary holds the counts of a run. Events = Written + Filtered + Rejected
// + Failed; ReadErrors count values and files that yielded no event.
type Summary struct {
	Events     int64 // events read
	Written    int64
	Filtered   int64
	Rejected   int64
	Failed     int64
	ReadErrors int64
	// Types counts the written rows by the type column's value.
	Types map[string]int64
	// Transport is what the run sent (see Config.Transport).
	Transport Transport
	// Duration is the wall time of the run.
	Duration time.Duration
	// Interrupted is set when the context ended before the input did.
	Interrupted bool

	reasons    map[reasonKey]*Reason
	maxReasons int
	distinct   [numKinds]int   // reasons kept, by kind
	others     [numKinds]int64 // failures beyond maxReasons distinct reasons of their kind
}

type reasonKey struct {
	kind Kind
	text string
}

func newSummary(maxReasons int) *Summary {
	if maxReasons <= 0 {
		maxReasons = DefaultMaxReasons
	}
	return &Summary{Types: map[string]int64{}, reasons: map[reasonKey]*Reason{}, maxReasons: maxReasons}
}

// add counts one outcome; text and example matter for failures only.
// example is called only for the first occurrence of a reason.
func (s *Summary) add(k Kind, text string, example func() string) {
	switch k {
	case Written:
		s.Events++
		s.Written++
		return
	case Filtered:
		s.Events++
		s.Filtered++
		return
	case Rejected:
		s.Events++
		s.Rejected++
	case Failed:
		s.Events++
		s.Failed++
	case ReadError:
		s.ReadErrors++
	}
	key := reasonKey{k, text}
	if r, ok := s.reasons[key]; ok {
		r.Count++
		return
	}
	if s.distinct[k] >= s.maxReasons {
		s.others[k]++
		return
	}
	s.distinct[k]++
	s.reasons[key] = &Reason{Kind: k, Text: text, Count: 1, Example: example()}
}

// OK reports whether every event was written or filtered, nothing was
// unreadable, and the run went to the end of its input.
func (s *Summary) OK() bool {
	return s.Rejected == 0 && s.Failed == 0 && s.ReadErrors == 0 && !s.Interrupted
}

// Problems returns the number of events that failed plus the inputs that
// could not be read.
func (s *Summary) Problems() int64 { return s.Rejected + s.Failed + s.ReadErrors }

// Reasons returns the reasons of kind k, most frequent first (ties in
// text order), at most n of them (all when n ≤ 0), and how many failures
// of that kind are not among them.
func (s *Summary) Reasons(k Kind, n int) (top []Reason, rest int64) {
	for key, r := range s.reasons {
		if key.kind == k {
			top = append(top, *r)
		}
	}
	slices.SortFunc(top, func(a, b Reason) int {
		return mostFrequentFirst(a.Count, a.Text, b.Count, b.Text)
	})
	rest = s.others[k]
	if n > 0 && len(top) > n {
		for _, r := range top[n:] {
			rest += r.Count
		}
		top = top[:n]
	}
	return top, rest
}

// mostFrequentFirst is the one order of a summary's counted lists: the
// larger count first, ties in text order.
func mostFrequentFirst(aCount int64, aText string, bCount int64, bText string) int {
	return cmp.Or(cmp.Compare(bCount, aCount), strings.Compare(aText, bText))
}

// retryReasons returns the causes of retries, most frequent first (ties
// in text order).
func retryReasons(m map[string]int64) []Reason {
	out := make([]Reason, 0, len(m))
	for text, n := range m {
		out = append(out, Reason{Text: text, Count: n})
	}
	slices.SortFunc(out, func(a, b Reason) int {
		return mostFrequentFirst(a.Count, a.Text, b.Count, b.Text)
	})
	return out
}

// TypeCounts returns the written rows by type, most frequent first (ties
// in name order).
func (s *Summary) TypeCounts() []TypeCount {
	out := make([]TypeCount, 0, len(s.Types))
	for t, n := range s.Types {
		out = append(out, TypeCount{Type: t, Count: n})
	}
	slices.SortFunc(out, func(a, b TypeCount) int {
		return mostFrequentFirst(a.Count, a.Type, b.Count, b.Type)
	})
	return out
}

// TypeCount is a number of rows of one type.
type TypeCount struct {
	Type  string
	Count int64
}

// FormatTypes writes counts as "track 27, identify 8".
func FormatTypes(counts []TypeCount) string {
	var b strings.Builder
	for i, c := range counts {
		if i > 0 {
			b.WriteString(", ")
		}
		t := c.Type
		if t == "" {
			t = "(no type)"
		}
		b.WriteString(t + " " + groupDigits(c.Count))
	}
	return b.String()
}

// TextOptions adjust Summary.WriteText.
type TextOptions struct {
	// DryRun says nothing was sent: requests are bodies written.
	DryRun bool
	// Dedupe says the table skips rows already there, so rows written
	// beyond Transport.RowsAffected were already in it.
	Dedupe bool
	// TopReasons is how many reasons of each kind are listed (default 5).
	TopReasons int
}

// WriteText writes the summary for people, for example:
//
//	replay summary
//	  events read        54
//	  written            54   track 27, identify 8, screen 6, page 5, group 4, alias 4
//	  filtered            0   not selected by the subscription
//	  rejected            0   failed validation, or too large for one request
//	  failed              0   refused by the Data API, or not answered
//	  read errors         0   unreadable values or files
//	  requests            1   112.9 kB sent, 0 retries
//	  new rows           54
//	  duration         0.2s   270 events/s
//	OK: every event was written or filtered.
//
// or, when something failed, the top reasons under their line and a last
// line that starts with FAILED (INTERRUPTED when the context ended first).
func (s *Summary) WriteText(w io.Writer, opt TextOptions) error {
	if opt.TopReasons <= 0 {
		opt.TopReasons = 5
	}
	var b strings.Builder
	line := func(label string, n int64, note string) {
		fmt.Fprintf(&b, "  %-14s %7s", label, groupDigits(n))
		if note != "" {
			b.WriteString("   " + note)
		}
		b.WriteByte('\n')
	}
	reasons := func(k Kind) {
		n := opt.TopReasons
		if all, rest := s.Reasons(k, 0); len(all) == n+1 && rest == 0 {
			n++ // one more line rather than "1 × other reasons"
		}
		top, rest := s.Reasons(k, n)
		for _, r := range top {
			fmt.Fprintf(&b, "  %22s   %s\n", groupDigits(r.Count)+" ×", clip(r.Text, 110))
			if r.Example != "" {
				fmt.Fprintf(&b, "  %22s     first: %s\n", "", clip(r.Example, 104))
			}
		}
		if rest > 0 {
			fmt.Fprintf(&b, "  %22s   other reasons\n", groupDigits(rest)+" ×")
		}
	}

	b.WriteString("replay summary\n")
	line("events read", s.Events, "")
	line("written", s.Written, FormatTypes(s.TypeCounts()))
	line("filtered", s.Filtered, "not selected by the subscription")
	line("rejected", s.Rejected, "failed validation, or too large for one request")
	reasons(Rejected)
	line("failed", s.Failed, "refused by the Data API, or not answered")
	reasons(Failed)
	line("read errors", s.ReadErrors, "unreadable values or files")
	reasons(ReadError)
	t := s.Transport
	if opt.DryRun {
		line("requests", t.Requests, FormatBytes(t.BytesSent)+" of request bodies written, nothing sent")
	} else {
		note := FormatBytes(t.BytesSent) + " sent, " + plural(t.Retries, "retry", "retries")
		if t.Splits > 0 {
			note += ", " + groupDigits(t.Splits) + " split for size"
		}
		line("requests", t.Requests, note)
		for _, r := range retryReasons(t.RetryReasons) {
			fmt.Fprintf(&b, "  %22s   retried: %s\n", groupDigits(r.Count)+" ×", clip(r.Text, 90))
		}
		if s.Written > 0 {
			note := ""
			switch {
			case !opt.Dedupe || t.RowsAffected >= s.Written:
			case t.RowsAffected == 0:
				note = "all " + groupDigits(s.Written) + " were already in the table"
			default:
				note = "the other " + groupDigits(s.Written-t.RowsAffected) + " were already in the table"
			}
			line("new rows", t.RowsAffected, note)
		}
	}
	rate := ""
	if secs := s.Duration.Seconds(); secs > 0 {
		rate = groupDigits(int64(float64(s.Events)/secs+0.5)) + " events/s"
	}
	fmt.Fprintf(&b, "  %-14s %7s", "duration", formatDuration(s.Duration))
	if rate != "" {
		b.WriteString("   " + rate)
	}
	b.WriteByte('\n')

	switch {
	case s.Interrupted:
		b.WriteString("INTERRUPTED: stopped before the end of the input.")
		if s.Problems() > 0 {
			b.WriteString(" " + s.failures())
		}
		b.WriteByte('\n')
	case s.OK():
		b.WriteString("OK: every event was written or filtered.\n")
	default:
		b.WriteString("FAILED: " + s.failures() + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// failures says what went wrong, as a sentence.
func (s *Summary) failures() string {
	var parts []string
	if n := s.Rejected + s.Failed; n > 0 {
		parts = append(parts, plural(n, "event was", "events were")+" not written")
	}
	if s.ReadErrors > 0 {
		parts = append(parts, plural(s.ReadErrors, "value or file", "values or files")+" could not be read")
	}
	return strings.Join(parts, ", and ") + "."
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return groupDigits(n) + " " + many
}

// groupDigits writes n with thousands separators: 1,234,567.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// FormatBytes writes a byte count in SI units: 950 B, 112.9 kB, 3.4 MB.
func FormatBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000_000:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	case n < 1000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}

// clip shortens s to at most n runes, marking the cut with "…", and puts
// it on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
