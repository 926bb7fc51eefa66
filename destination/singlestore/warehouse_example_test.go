package singlestore_test

import (
	"context"
	"fmt"

	"github.com/s2segment/s2segment/dataapi"
	"github.com/s2segment/s2segment/dataapi/emulator"
	"github.com/s2segment/s2segment/destination/singlestore"
)

func ExampleWarehouseWriter() {
	// A local Data API with a real SQL engine behind it.
	em, err := emulator.Listen(context.Background(), emulator.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer em.Close()
	client, err := dataapi.New(dataapi.Config{Host: em.Host(), Port: em.Port(), Scheme: "http", User: "root", Database: emulator.DefaultDatabase})
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := singlestore.NewWarehouseWriter(singlestore.NewExecutor(client).(singlestore.WarehouseExecutor),
		singlestore.WarehouseConfig{Database: emulator.DefaultDatabase})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	ms := w.Write(ctx, [][]byte{
		[]byte(`{"type":"identify","messageId":"i-1","userId":"u1","receivedAt":"2025-07-07T10:00:00Z","traits":{"email":"a@example.com","plan":"free"}}`),
		[]byte(`{"type":"identify","messageId":"i-2","userId":"u1","receivedAt":"2025-07-07T11:00:00Z","traits":{"plan":"pro"}}`),
		[]byte(`{"type":"track","event":"Project Created","messageId":"t-1","userId":"u1","receivedAt":"2025-07-07T11:01:00Z","properties":{"template":"kanban"}}`),
	})
	for _, r := range ms.Results {
		fmt.Println(r.Status, string(r.Body))
	}
	rows, err := client.QueryRows(ctx, "SELECT `email`, `plan` FROM `users` WHERE `id` = 'u1'")
	fmt.Println(string(rows[0]["email"]), string(rows[0]["plan"]), err)
	// Output:
	// 200 {"tables":["identifies","users"]}
	// 200 {"tables":["identifies","users"]}
	// 200 {"tables":["tracks","project_created"]}
	// "a@example.com" "pro" <nil>
}
