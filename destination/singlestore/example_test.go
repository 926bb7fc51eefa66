package singlestore_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
)

func ExampleEncoder() {
	enc, err := singlestore.NewEncoder(singlestore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	event := []byte(`{"type":"track","event":"Signed Up","messageId":"m-1","timestamp":"2025-07-07T12:19:25.665+02:00","userId":42,"properties":{"plan":"pro"}}`)
	var p destination.Payload
	if _, err := enc.Process(nil, event, &p); err != nil {
		fmt.Println(destination.ResultOf(err).ErrorMessage)
		return
	}
	row, err := enc.AppendRow(nil, &p)
	fmt.Println(string(row), err)

	_, err = enc.Process(nil, []byte(`{"type":"track","messageId":"m-2","timestamp":"2025-07-07T10:19:25Z"}`), &p)
	fmt.Println(destination.ResultOf(err).Status, err)
	// Output:
	// "m-1","2025-07-07 10:19:25.665000","track","Signed Up",null,{"plan":"pro"},"42",null,null,null,null <nil>
	// 400 The root value is missing the required field 'event'. The root value must match "then" schema.
}

func ExampleWriter() {
	// A local Data API with a real SQL engine behind it.
	em, err := emulator.Listen(context.Background(), emulator.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer em.Close()
	client, err := dataapi.New(dataapi.Config{Host: em.Host(), Port: em.Port(), Scheme: "http", User: "root", Password: "pw", Database: "s2segment"})
	if err != nil {
		fmt.Println(err)
		return
	}

	w, err := singlestore.NewWriter(singlestore.NewExecutor(client), singlestore.WriterConfig{Database: "s2segment"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := w.CreateTable(ctx); err != nil {
		fmt.Println(err)
		return
	}
	events := [][]byte{
		[]byte(`{"type":"identify","messageId":"m-1","timestamp":"2025-07-07T10:19:25Z","userId":"u-1","traits":{"plan":"pro"}}`),
		[]byte(`{"type":"track","messageId":"m-2","timestamp":"not a date","event":"E"}`),
		[]byte(`{"type":"delete","messageId":"m-3"}`),
		[]byte(`{"type":"identify","messageId":"m-1","timestamp":"2025-07-07T10:19:25Z","userId":"u-1"}`),
	}
	for i, r := range w.Write(ctx, events).Results {
		if r.OK() {
			fmt.Println(i, r.Status, "written")
		} else {
			fmt.Println(i, r.Status, r.ErrorMessage)
		}
	}
	rows, err := client.QueryRows(ctx, "SELECT `messageId`, `userId`, `traits` FROM `segment_data`")
	fmt.Println(len(rows), string(rows[0]["messageId"]), string(rows[0]["traits"]), err)
	// Output:
	// 0 200 written
	// 1 400 Timestamp must be a valid date and time string but it was not.
	// 2 400 Payload is either invalid or does not match the subscription
	// 3 200 written
	// 1 "m-1" {"plan":"pro"} <nil>
}

// ExampleWriter_Action delivers with the Writer's action the way
// Example_webhook of package destination delivers with its own: compile
// the action with a Config, then ExecuteBatch raw events and read one
// result per event. Here the user's mapping takes the user ID from
// anonymousId.
func ExampleWriter_Action() {
	em, err := emulator.Listen(context.Background(), emulator.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer em.Close()
	client, err := dataapi.New(dataapi.Config{Host: em.Host(), Port: em.Port(), Scheme: "http", User: "root", Password: "pw", Database: "s2segment"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	w, err := singlestore.NewWriter(singlestore.NewExecutor(client), singlestore.WriterConfig{Database: "s2segment"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := w.CreateTable(ctx); err != nil {
		fmt.Println(err)
		return
	}
	pipeline, err := w.Action().Compile(destination.Config{Mapping: json.RawMessage(`{"userId":{"@path":"$.anonymousId"}}`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	ms := pipeline.ExecuteBatch(ctx, destination.Settings{}, [][]byte{
		[]byte(`{"type":"track","event":"Signed Up","messageId":"m-1","timestamp":"2025-07-07T10:19:25Z","anonymousId":"a-1"}`),
		[]byte(`{"type":"track","messageId":"m-2","timestamp":"2025-07-07T10:19:25Z"}`),
	})
	for i, r := range ms.Results {
		if r.OK() {
			fmt.Println(i, r.Status, "written:", string(r.Body))
		} else {
			fmt.Println(i, r.Status, r.ErrorMessage)
		}
	}
	rows, err := client.QueryRows(ctx, "SELECT `messageId`, `userId` FROM `segment_data`")
	fmt.Println(len(rows), string(rows[0]["messageId"]), string(rows[0]["userId"]), err)
	// Output:
	// 0 200 written: {"rowsAffected":1}
	// 1 400 The root value is missing the required field 'event'. The root value must match "then" schema.
	// 1 "m-1" "a-1" <nil>
}
