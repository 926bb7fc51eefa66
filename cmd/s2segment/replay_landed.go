package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/replay"
)

// landedSampleRows is how many rows showLanded prints.
const landedSampleRows = 5

// showLanded reads back what the table holds, through the Data API. For the
// embedded emulator (a fresh, small table) it prints the rows by type and a
// few rows; for a configured host only the table's row count, which stays
// cheap on big tables.
func showLanded(ctx context.Context, w io.Writer, c *dataapi.Client, database, table string, local bool) error {
	q := singlestore.QuoteIdentifier(table)
	name := database + "." + table
	if !local {
		rows, err := c.QueryRows(ctx, "SELECT COUNT(*) AS n FROM "+q)
		if err != nil {
			return err
		}
		if len(rows) != 1 {
			return fmt.Errorf("counting rows: got %d result rows, expected 1", len(rows))
		}
		fmt.Fprintf(w, "%s now holds %s rows (SELECT COUNT(*) through the Data API).\n", name, rawText(rows[0]["n"]))
		return nil
	}

	rows, err := c.QueryRows(ctx, "SELECT `type`, COUNT(*) AS n FROM "+q+" GROUP BY `type`")
	if err != nil {
		return err
	}
	var counts []replay.TypeCount
	var total int64
	for _, r := range rows {
		n, err := strconv.ParseInt(rawText(r["n"]), 10, 64)
		if err != nil {
			return fmt.Errorf("counting rows by type: count %s: %w", r["n"], err)
		}
		counts = append(counts, replay.TypeCount{Type: rawText(r["type"]), Count: n})
		total += n
	}
	sortTypeCounts(counts)
	fmt.Fprintf(w, "Landed in %s (read back through the Data API): %d rows\n", name, total)
	if total == 0 {
		return nil
	}
	fmt.Fprintf(w, "  by type: %s\n\n", replay.FormatTypes(counts))

	sample, err := c.QueryRows(ctx, "SELECT `messageId`, `timestamp`, `type`, `event`, `name`, `userId`, `properties` FROM "+q+
		" ORDER BY `timestamp`, `messageId` LIMIT "+strconv.Itoa(landedSampleRows))
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  messageId\ttimestamp\ttype\tevent / name\tuserId\tproperties")
	for _, r := range sample {
		what := rawText(r["event"])
		if what == "" {
			what = rawText(r["name"])
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n",
			cell(rawText(r["messageId"]), 28), cell(rawText(r["timestamp"]), 26), cell(rawText(r["type"]), 8),
			cell(what, 20), cell(rawText(r["userId"]), 14), cell(rawText(r["properties"]), 40))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "  (%d of %d rows, earliest timestamp first)\n", len(sample), total)
	return nil
}

// rawText shows a value of a Data API answer: a string unquoted, null as "",
// anything else (numbers, embedded JSON) as its JSON text, on one line.
func rawText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return ""
	case v[0] == '"':
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			return s
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err == nil {
		return b.String()
	}
	return string(v)
}

// cell fits s in n runes for the sample table; "-" for an empty value.
func cell(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "-"
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// sortTypeCounts orders counts most frequent first, ties by name.
func sortTypeCounts(counts []replay.TypeCount) {
	for i := 1; i < len(counts); i++ {
		for j := i; j > 0 && less(counts[j], counts[j-1]); j-- {
			counts[j], counts[j-1] = counts[j-1], counts[j]
		}
	}
}

func less(a, b replay.TypeCount) bool {
	if a.Count != b.Count {
		return a.Count > b.Count
	}
	return a.Type < b.Type
}
