package batch_test

import (
	"errors"
	"fmt"

	"github.com/s2segment/s2segment/batch"
)

func ExamplePacker() {
	p, err := batch.New(batch.Config{
		Prefix:   "INSERT INTO `t` (`id`, `props`) VALUES ",
		Columns:  2,
		Database: "analytics",
		MaxRows:  2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rows := []string{`"a",{"plan":"pro"}`, `"b",null`, `"c",{"n":12345678901234567890}`}
	for i, row := range rows {
		full, err := p.Add([]byte(row), i)
		if err != nil {
			fmt.Println(err)
			continue
		}
		if full != nil {
			fmt.Printf("%v %s\n", full.Refs(), full.Body())
		}
	}
	if last := p.Flush(); last != nil {
		fmt.Printf("%v %s\n", last.Refs(), last.Body())
	}
	// Output:
	// [0 1] {"sql":"INSERT INTO `t` (`id`, `props`) VALUES (?, ?), (?, ?)","database":"analytics","args":["a",{"plan":"pro"},"b",null]}
	// [2] {"sql":"INSERT INTO `t` (`id`, `props`) VALUES (?, ?)","database":"analytics","args":["c",{"n":12345678901234567890}]}
}

func ExampleRowError() {
	p, err := batch.New(batch.Config{Prefix: "INSERT INTO t VALUES ", Columns: 2, MaxBytes: 80})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = p.Add([]byte(`1,"this row is far too long for a request of eighty bytes"`), 7)
	fmt.Println(errors.Is(err, batch.ErrRowTooLarge), err)
	_, err = p.Add([]byte(`1,"two",3`), 8)
	fmt.Println(errors.Is(err, batch.ErrMalformedRow), err)
	var re *batch.RowError
	if errors.As(err, &re) {
		fmt.Println(re.Ref, re.Offset)
	}
	// Output:
	// true batch: row 7: row too large for one request: a request holding only this row would be 105 bytes, over the 80-byte limit
	// true batch: row 8: malformed row at byte 7: more than 2 values
	// 8 7
}

func ExampleRequest_Split() {
	p, _ := batch.New(batch.Config{Prefix: "INSERT INTO t VALUES ", Columns: 1})
	for i, row := range []string{`1`, `2`, `3`} {
		_, _ = p.Add([]byte(row), i)
	}
	req := p.Flush()
	a, b := req.Split()
	fmt.Printf("%s\n%s\n", a.Body(), b.Body())
	// Output:
	// {"sql":"INSERT INTO t VALUES (?)","args":[1]}
	// {"sql":"INSERT INTO t VALUES (?), (?)","args":[2,3]}
}
