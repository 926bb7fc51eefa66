package replay_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing/fstest"

	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/eventsource"
	"github.com/s2segment/s2segment/internal/replay"
)

// ExampleRun replays three NDJSON lines as a dry run: the request body goes
// to standard output, the report to a buffer.
func ExampleRun() {
	input := fstest.MapFS{"events.ndjson": {Data: []byte(
		`{"type":"track","event":"Signed Up","messageId":"m1","timestamp":"2025-07-07T12:19:25+02:00"}
{"type":"track","messageId":"m2","timestamp":"2025-07-07T10:19:25Z"}
{"type":"delete","messageId":"m3"}
`)}}
	src, _ := eventsource.Open(context.Background(), eventsource.Config{FS: input}, []string{"events.ndjson"}, nil)
	dry := replay.NewDryRun(os.Stdout)
	w, _ := singlestore.NewWriter(dry, singlestore.WriterConfig{Database: "analytics", Options: singlestore.Options{Schema: singlestore.SchemaReference}})

	var report strings.Builder
	sum, err := replay.Run(context.Background(), replay.Config{Writer: w, Report: &report, Transport: dry.Stats}, src)
	if err != nil {
		fmt.Println(err)
	}
	_ = dry.Flush()
	fmt.Print(report.String())
	fmt.Println(sum.Written, sum.Rejected, sum.Filtered, sum.OK(), sum.Transport.Requests)
	// Output:
	// {"sql":"INSERT INTO `segment_data` (`messageId`, `timestamp`, `type`, `event`, `name`, `properties`, `userId`, `anonymousId`, `groupId`, `traits`, `context`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)","database":"analytics","args":["m1","2025-07-07 10:19:25.000000","track","Signed Up",null,null,null,null,null,null,null]}
	// {"source":"events.ndjson","line":1,"index":0,"messageId":"m1","type":"track","status":"written"}
	// {"source":"events.ndjson","line":2,"index":1,"messageId":"m2","type":"track","status":"rejected","code":400,"error":"The root value is missing the required field 'event'. The root value must match \"then\" schema."}
	// {"source":"events.ndjson","line":3,"index":2,"messageId":"m3","type":"delete","status":"filtered","code":400,"error":"Payload is either invalid or does not match the subscription"}
	// 1 1 1 false 1
}
