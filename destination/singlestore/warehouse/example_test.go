package warehouse_test

import (
	"fmt"
	"time"

	"github.com/s2segment/s2segment/destination/singlestore/warehouse"
)

func ExampleRows() {
	event := []byte(`{"type":"track","event":"Order Completed","messageId":"m1","userId":"u1",
		"timestamp":"2025-07-07T12:00:00+02:00","properties":{"total":27.5,"items":[1,2],"注文":"x"}}`)
	rows, err := warehouse.Rows(event, time.Date(2025, 7, 7, 10, 0, 1, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range rows {
		fmt.Print(r.Table, ":")
		for _, f := range r.Fields {
			fmt.Print(" ", f.Column)
		}
		fmt.Println()
		for _, u := range r.Unmapped {
			fmt.Printf("  _unmapped %s (%s)\n", u.Key, u.Reason)
		}
	}
	// Output:
	// tracks: id user_id received_at timestamp uuid_ts event event_text
	// order_completed: id user_id received_at timestamp uuid_ts event event_text total items
	//   _unmapped 注文 (no column name)
}

func ExampleSchema_Plan() {
	event := []byte(`{"type":"identify","messageId":"i1","userId":"u1","timestamp":"2025-07-07T10:00:00Z",
		"traits":{"email":"a@example.com","logins":3,"createdAt":"2025-01-02T03:04:05Z"}}`)
	rows, _ := warehouse.Rows(event, time.Now())
	s := warehouse.NewSchema(0)
	s.Apply(warehouse.Change{Table: "users", Create: true, Columns: warehouse.StandardColumns("users")})
	for _, c := range s.Plan(rows) {
		if c.Create {
			fmt.Println(warehouse.CreateTableSQL("analytics", warehouse.Change{Table: c.Table, Create: true, Columns: c.Columns[:1]}))
			continue
		}
		fmt.Println(warehouse.AddColumnsSQL("analytics", c.Table, c.Columns))
	}
	// Output:
	// CREATE TABLE IF NOT EXISTS `analytics`.`identifies` (`id` VARCHAR(255) NOT NULL, SHARD KEY (`id`), UNIQUE KEY (`id`) USING HASH, SORT KEY (`received_at`))
	// ALTER TABLE `analytics`.`users` ADD COLUMN (`email` TEXT, `logins` BIGINT, `created_at` DATETIME(6))
}
