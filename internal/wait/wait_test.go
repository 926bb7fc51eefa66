package wait

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSleep(t *testing.T) {
	assert.NoError(t, Sleep(context.Background(), time.Millisecond))
	assert.NoError(t, Sleep(context.Background(), 0))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled, "a done context ends the wait")
	assert.ErrorIs(t, Sleep(ctx, 0), context.Canceled, "a done context is reported even without a wait")

	ctx, cancel = context.WithCancel(context.Background())
	go cancel()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled, "a context cancelled during the wait ends it")
}

func ExampleSleep() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fmt.Println(Sleep(ctx, time.Hour))
	// Output: context canceled
}
