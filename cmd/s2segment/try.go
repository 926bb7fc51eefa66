package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"
)

func init() { register(newTryCmd) }

type tryFlags struct {
	mapping      string
	subscription string
	schema       string
	jsonStrings  bool
}

func newTryCmd() *cobra.Command {
	var f tryFlags
	cmd := &cobra.Command{
		Use:   "try [--mapping FILE|JSON] [--subscription FQL] < events.ndjson",
		Short: "Run events through the Send Data action without sending anything",
		Long: `try reads events, one JSON object per line, from standard input and runs each
through the Send Data action: the subscription, the mapping, the validation and
the row encoding. It prints one JSON line per event and sends nothing:

  {"match":true,"status":200,"payload":{…},"row":[…11 values…]}
  {"match":true,"status":400,"error":"Properties must be an object but it was an array."}
  {"match":false,"status":400,"error":"Payload is either invalid or does not match the subscription"}

--mapping overlays the action's default mapping (a JSON object, or a file
holding one); --subscription replaces its default subscription. A mapping or
subscription that does not compile is refused before any event is read (exit
status 2). The exit status is 1 when any selected event is invalid, 0 when
every event was valid or not selected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTry(cmd, f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.mapping, "mapping", "", "mapping to overlay on the defaults: a JSON object, or a file holding one")
	fs.StringVar(&f.subscription, "subscription", "", "FQL subscription replacing the default one")
	fs.StringVar(&f.schema, "schema", "dedupe", "table schema the rows are for: dedupe or reference")
	fs.BoolVar(&f.jsonStrings, "json-strings", false, "send properties, traits and context as JSON-encoded strings")
	return cmd
}

// tryLine is one line of try's output.
type tryLine struct {
	Match   bool            `json:"match"`
	Status  int             `json:"status"`
	Error   string          `json:"error,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Row     json.RawMessage `json:"row,omitempty"`
}

func runTry(cmd *cobra.Command, f tryFlags) error {
	opts := singlestore.Options{Subscription: f.subscription}
	if f.jsonStrings {
		opts.JSONColumns = singlestore.JSONString
	}
	schema, err := singlestore.ParseSchema(f.schema)
	if err != nil {
		return usageError(fmt.Errorf("--schema: %w", err))
	}
	opts.Schema = schema
	if f.mapping != "" {
		m, err := readMappingFlag(f.mapping)
		if err != nil {
			return usageError(err)
		}
		opts.Mapping = m
	}
	if cmd.Flags().Changed("subscription") && strings.TrimSpace(f.subscription) == "" {
		return usageError(errors.New("--subscription: the subscription is empty; leave the flag out to use the default"))
	}
	enc, err := singlestore.NewEncoder(opts)
	if err != nil {
		return usageError(describeCompileError(err, f.subscription))
	}

	ctx := cmd.Context()
	announceTerminalInput(cmd.InOrStdin(), cmd.ErrOrStderr(), "try")
	in := bufio.NewReaderSize(cmd.InOrStdin(), 64<<10)
	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	var (
		buf, row []byte
		payload  destination.Payload
		failed   int
	)
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			_ = out.Flush()
			return failedError(fmt.Errorf("reading events: %w", err))
		}
		line, readErr := in.ReadBytes('\n')
		if readErr != nil && readErr != io.EOF {
			_ = out.Flush()
			return failedError(fmt.Errorf("reading events: %w", readErr))
		}
		event := bytes.TrimSpace(line)
		if len(event) > 0 {
			res := tryEvent(enc, event, lineNo, &buf, &row, &payload)
			if !res.Match || res.Status != 200 {
				if res.Match || res.Error != destination.NoMatchMessage {
					failed++
				}
			}
			b, err := json.Marshal(res)
			if err != nil {
				return failedError(fmt.Errorf("writing result of line %d: %w", lineNo, err))
			}
			out.Write(b)
			out.WriteByte('\n')
		}
		if readErr == io.EOF {
			break
		}
	}
	if err := out.Flush(); err != nil {
		return failedError(fmt.Errorf("writing results: %w", err))
	}
	if failed > 0 {
		return failedError(nil)
	}
	return nil
}

// tryEvent runs one event and describes the outcome.
func tryEvent(enc *singlestore.Encoder, event []byte, lineNo int, buf, row *[]byte, p *destination.Payload) tryLine {
	if err := destination.CheckDepth(event); err != nil {
		return tryLine{Status: 400, Error: fmt.Sprintf("line %d is not JSON: %v", lineNo, err)}
	}
	if !gjson.ValidBytes(event) {
		return tryLine{Status: 400, Error: fmt.Sprintf("line %d is not JSON: %v", lineNo, jsonError(event))}
	}
	if !gjson.ParseBytes(event).IsObject() {
		return tryLine{Status: 400, Error: fmt.Sprintf("line %d is not a JSON object", lineNo)}
	}
	res := tryLine{Match: enc.Pipeline().Match(event)}
	var err error
	*buf, err = enc.Process((*buf)[:0], event, p)
	if err == nil {
		*row, err = enc.AppendRow(append((*row)[:0], '['), p)
	}
	if err != nil {
		r := destination.ResultOf(err)
		res.Status, res.Error = r.Status, r.ErrorMessage
		return res
	}
	*row = append(*row, ']')
	res.Status = 200
	res.Payload = append(json.RawMessage(nil), p.JSON...)
	res.Row = append(json.RawMessage(nil), *row...)
	return res
}

// readMappingFlag reads --mapping: a JSON object given inline, or a file.
func readMappingFlag(v string) (json.RawMessage, error) {
	data := []byte(v)
	source := "the --mapping value"
	if t := strings.TrimSpace(v); !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		b, err := os.ReadFile(v)
		if err != nil {
			return nil, fmt.Errorf("--mapping: reading mapping file: %w", err)
		}
		data, source = b, v
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("--mapping: %s is not JSON: %v", source, jsonError(data))
	}
	return data, nil
}

// jsonError says where data stops being JSON.
func jsonError(data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%v (at byte offset %d)", se, se.Offset)
	}
	if err == nil {
		return errors.New("not a single JSON value")
	}
	return err
}

// describeCompileError names the flag at fault and, for a subscription,
// points at the offending character.
func describeCompileError(err error, fql string) error {
	var se *destination.SubscriptionError
	if errors.As(err, &se) {
		caret := ""
		if fql != "" && se.Offset <= len(fql) && !strings.ContainsAny(fql, "\n\r\t") {
			caret = fmt.Sprintf("\n  %s\n  %s^", fql, strings.Repeat(" ", utf8.RuneCountInString(fql[:se.Offset])))
		}
		return fmt.Errorf("--subscription: %w%s", err, caret)
	}
	if errors.Is(err, destination.ErrInvalidDefinition) {
		return err
	}
	return fmt.Errorf("--mapping: %w", err)
}
