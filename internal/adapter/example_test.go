package adapter_test

import (
	"context"
	"fmt"

	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/adapter"
	"github.com/s2segment/s2segment/internal/diagnose"
)

// Check the settings (which creates the table), then write events through a
// Sink: one result per event, in order.
func Example() {
	em, err := emulator.Listen(context.Background(), emulator.Config{}) // a local Data API with database "s2segment"
	if err != nil {
		panic(err)
	}
	defer em.Close()
	host, port := em.Host(), em.Port()

	conn := adapter.Connection{Scheme: "http"}
	settings := singlestore.Settings{Host: host, Port: port, Username: "root", Password: "pw", DBName: "s2segment", TableName: "segment_data"}
	client, err := conn.NewClient(settings)
	if err != nil {
		panic(err)
	}
	res, err := diagnose.Check(context.Background(), client, conn.TargetOf(settings, singlestore.SchemaDedupe))
	if err != nil {
		panic(err)
	}
	fmt.Println("table created:", res.Created)

	sink, err := adapter.NewSink(singlestore.NewExecutor(client), adapter.SinkConfig{
		WriterConfig: singlestore.WriterConfig{Database: "s2segment", Table: "segment_data"},
	})
	if err != nil {
		panic(err)
	}
	for _, r := range sink.Write(context.Background(), [][]byte{
		[]byte(`{"type":"track","event":"Signed Up","messageId":"m1","timestamp":"2025-07-07T10:19:25Z","userId":"u1"}`),
		[]byte(`{"type":"track","messageId":"m2","timestamp":"2025-07-07T10:19:25Z","userId":"u1"}`),
	}) {
		if r.OK() {
			fmt.Println(r.Status, "written")
		} else {
			fmt.Println(r.Status, r.Message)
		}
	}
	// Output:
	// table created: true
	// 200 written
	// 400 The root value is missing the required field 'event'. The root value must match "then" schema.
}

// A check that fails says what to do.
func ExampleExplain() {
	em, err := emulator.Listen(context.Background(), emulator.Config{})
	if err != nil {
		panic(err)
	}
	defer em.Close()
	host, port := em.Host(), em.Port()

	conn := adapter.Connection{Scheme: "http"}
	settings := singlestore.Settings{Host: host, Port: port, Username: "loader", Password: "pw", DBName: "analytics"}
	client, err := conn.NewClient(settings)
	if err != nil {
		panic(err)
	}
	_, err = diagnose.Check(context.Background(), client, conn.TargetOf(settings, singlestore.SchemaDedupe))
	ce := diagnose.Explain(err, conn.TargetOf(settings, singlestore.SchemaDedupe))
	fmt.Println(ce.Kind)
	fmt.Println(ce.Hint)
	// Output:
	// unknown-database
	// Create it, as a user allowed to:
	//   CREATE DATABASE `analytics`;
	// or fix the database name (--database); names are case-sensitive
}
