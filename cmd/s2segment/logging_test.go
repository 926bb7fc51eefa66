package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLogDurationsAsText(t *testing.T) {
	var b bytes.Buffer
	newJSONLogger(&b, slog.LevelInfo).Info("x", "wait", 1500*time.Millisecond)
	assert.Contains(t, b.String(), `"wait":"1.5s"`)
}

func TestRetryReasons(t *testing.T) {
	for msg, want := range map[string]string{
		"dataapi: /api/v2/exec: 500 Internal Server Error: Error 1213 (40001): Deadlock found when trying to get lock; try restarting transaction": "Error 1213: Deadlock found when trying to get lock",
		"dataapi: /api/v2/exec: 503 Service Unavailable: the server is overloaded":                                                                 "503 Service Unavailable",
		"dataapi: calling /api/v2/exec (attempt 2): Post \"http://127.0.0.1:9/api/v2/exec\": dial tcp 127.0.0.1:9: connect: connection refused":    `Post "http://127.0.0.1:9/api/v2/exec": dial tcp 127.0.0.1:9: connect: connection refused`,
	} {
		assert.Equal(t, want, retryReason(msg), msg)
	}

	c := newRetryCounter()
	log := slog.New(c)
	assert.Nil(t, c.snapshot())
	for range 2 {
		log.Warn(retryLog, "path", "/api/v2/exec", "attempt", 1, "wait", time.Second,
			"error", errors.New("dataapi: /api/v2/exec: 500 Internal Server Error: Error 1213 (40001): Deadlock found when trying to get lock").Error())
	}
	log.Warn("dataapi: not retrying: the wait would end after MaxRetryTime", "error", "x")
	log.Info(retryLog, "error", "not a warning")
	assert.Equal(t, map[string]int64{"Error 1213: Deadlock found when trying to get lock": 2}, c.snapshot())
	_ = c.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelWarn, retryLog, 0))
	assert.Equal(t, int64(1), c.snapshot()["unknown cause"])
}
