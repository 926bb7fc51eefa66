package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/mapping"
	"github.com/spf13/cobra"
	"github.com/tidwall/gjson"
)

func init() { register(newMapCmd) }

func newMapCmd() *cobra.Command {
	var mappingArg string
	cmd := &cobra.Command{
		Use:   "map [--mapping FILE|JSON] [flags] < events.ndjson",
		Short: "Apply a mapping-kit mapping to events, one JSON object per line",
		Long: `map applies Segment mapping-kit mappings (@path, @template, @if, @case, @replace,
@arrayPath, @literal, @merge, @transform, @flatten, @json, @excludeWhenNull,
@liquid) to events read as NDJSON on standard input, and writes one result line
per non-blank input line, in order.

Input lines:
  - An object with exactly the two keys "mapping" and "payload" applies that
    mapping to that payload (even when --mapping is given).
  - Any other JSON line is an event; the --mapping mapping is applied to it.
    Without --mapping such a line is an error line.
  - Blank lines are skipped and produce no output line.
Lines may be of any length.

Output lines:
  {"output": V}        the mapped value V (keys that resolved to undefined are
                       left out, nulls are kept, integers keep every digit)
  {"undefined": true}  the whole mapping resolved to undefined
  {"error": "message"} the mapping is invalid (mapping-kit's messages, joined
                       with "; "), a directive failed, or the line is not usable;
                       a line that is not JSON is reported with its line number
                       and the byte offset of the problem, and map goes on with
                       the next line.

--mapping is a file name, or the mapping itself when it starts with { or [.

Exit status: 0 when every line gave an output or undefined, 1 when any line
gave an error line (a summary is written to standard error), 2 when --mapping
cannot be read or does not compile (its messages are written to standard error).`,
		Example: `  echo '{"type":"track","event":"Signed Up","properties":{"plan":"pro"}}' |
    s2segment map --mapping '{"name":{"@path":"$.event"},"plan":{"@case":{"operator":"upper","value":{"@path":"$.properties.plan"}}}}'
  {"output":{"name":"Signed Up","plan":"PRO"}}

  echo '{"mapping":{"@path":"$.missing"},"payload":{}}' | s2segment map
  {"undefined":true}`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var m *mapping.Mapping
			if cmd.Flags().Changed("mapping") {
				var err error
				if m, err = loadMapFlag(mappingArg); err != nil {
					return usageError(err)
				}
			}
			announceTerminalInput(cmd.InOrStdin(), cmd.ErrOrStderr(), "map")
			return runMap(cmd.Context(), m, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&mappingArg, "mapping", "m", "", "mapping to apply to event lines: a file, or the JSON itself when it starts with { or [")
	return cmd
}

// loadMapFlag compiles --mapping, given inline or as a file.
func loadMapFlag(arg string) (*mapping.Mapping, error) {
	src := []byte(arg)
	if t := bytes.TrimSpace(src); len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		b, err := os.ReadFile(arg)
		if err != nil {
			return nil, fmt.Errorf("reading --mapping: %w", err)
		}
		src = b
	}
	m, err := mapping.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("compiling --mapping: %w", err)
	}
	return m, nil
}

// mapCounts is what a map run did.
type mapCounts struct{ lines, failed int }

func runMap(ctx context.Context, m *mapping.Mapping, in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 64<<10)
	w := bufio.NewWriterSize(out, 64<<10)
	var counts mapCounts
	var line, buf []byte
	lineNo := 0
	for {
		if err := ctx.Err(); err != nil {
			_ = w.Flush()
			return fmt.Errorf("mapping events: %w", err)
		}
		var err error
		line, err = readMapInputLine(r, line[:0])
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			_ = w.Flush()
			return fmt.Errorf("reading line %d: %w", lineNo+1, err)
		}
		lineNo++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		counts.lines++
		var ok bool
		if buf, ok = mapLine(buf[:0], m, line, lineNo); !ok {
			counts.failed++
		}
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		// Flush whenever the input has nothing more buffered, so results of
		// interactive input show up at once.
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if counts.failed > 0 {
		return failedError(fmt.Errorf("map: %d of %d lines gave an error", counts.failed, counts.lines))
	}
	return nil
}

// readMapInputLine appends the next line of r, without its line ending, to dst.
func readMapInputLine(r *bufio.Reader, dst []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		dst = append(dst, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if n := len(dst); n > 0 && dst[n-1] == '\n' {
			dst = dst[:n-1]
			if n := len(dst); n > 0 && dst[n-1] == '\r' {
				dst = dst[:n-1]
			}
		}
		return dst, err
	}
}

// mapLine appends the result line for one input line; ok is false for an
// error line.
func mapLine(dst []byte, m *mapping.Mapping, line []byte, lineNo int) ([]byte, bool) {
	if err := destination.CheckDepth(line); err != nil {
		return appendMapErrorLine(dst, "line "+strconv.Itoa(lineNo)+": "+err.Error()), false
	}
	if !gjson.ValidBytes(line) {
		return appendMapErrorLine(dst, "line "+strconv.Itoa(lineNo)+": "+describeMapLineJSON(line)), false
	}
	event := line
	if pm, payload, isPair := mapLinePair(line); isPair {
		compiled, err := mapping.Compile([]byte(pm))
		if err != nil {
			return appendMapErrorLine(dst, mapCompileMessage(err)), false
		}
		m, event = compiled, []byte(payload)
	} else if m == nil {
		return appendMapErrorLine(dst, "line "+strconv.Itoa(lineNo)+`: not an object with exactly the keys "mapping" and "payload", and no --mapping was given to apply to it`), false
	}
	dst = append(dst, `{"output":`...)
	out, defined, err := m.AppendApply(dst, event)
	switch {
	case err != nil:
		return appendMapErrorLine(dst[:0], err.Error()), false
	case !defined:
		return append(dst[:0], `{"undefined":true}`+"\n"...), true
	}
	return append(out, "}\n"...), true
}

// mapLinePair reports whether line is an object with exactly the keys
// "mapping" and "payload", and returns their JSON.
func mapLinePair(line []byte) (mappingJSON, payloadJSON string, ok bool) {
	root := gjson.ParseBytes(line)
	if !root.IsObject() {
		return "", "", false
	}
	keys := 0
	root.ForEach(func(k, v gjson.Result) bool {
		keys++
		switch k.Str {
		case "mapping":
			mappingJSON = v.Raw
		case "payload":
			payloadJSON = v.Raw
		default:
			keys = -100
			return false
		}
		return true
	})
	return mappingJSON, payloadJSON, keys == 2 && mappingJSON != "" && payloadJSON != ""
}

// mapCompileMessage is the message of a Compile error: mapping-kit's
// validation messages as they are, anything else as Compile worded it.
func mapCompileMessage(err error) string {
	var ve mapping.ValidationErrors
	if errors.As(err, &ve) {
		return ve.Error()
	}
	return err.Error()
}

// describeMapLineJSON says where and why a line is not JSON.
func describeMapLineJSON(line []byte) string {
	var raw json.RawMessage
	err := json.Unmarshal(line, &raw)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte offset %d: %s", se.Offset, se.Error())
	}
	if err != nil {
		return "invalid JSON: " + err.Error()
	}
	return "invalid JSON"
}

// appendMapErrorLine appends {"error": msg} and a newline.
func appendMapErrorLine(dst []byte, msg string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"error": msg}) // a string map always encodes
	return append(dst, b.Bytes()...)
}
