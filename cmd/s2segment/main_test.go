package main

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// syncBuffer is a bytes.Buffer safe for a command writing while a test
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, bytes.NewBufferString(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "", "version")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "s2segment dev\n", out)
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"no-such-command"}, {"version", "extra"}, {"version", "--no-such-flag"}} {
		code, _, errOut := runCLI(t, "", args...)
		assert.Equal(t, exitUsage, code, "args %q", args)
		assert.Contains(t, errOut, "s2segment: ", "args %q", args)
	}
}

func TestSettingsFromEnvironment(t *testing.T) {
	env := map[string]string{"S2_HOST": "db.example.com", "S2_PASSWORD": "s3cret", "S2_PORT": "9000", "S2_SCHEME": "http"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	cmd := newRootCmd()
	var tf targetFlags
	tf.register(cmd.Flags())
	assert.NoError(t, cmd.Flags().Parse([]string{"--port", "9001"}))
	assert.NoError(t, tf.resolve(lookup))
	assert.Equal(t, "db.example.com", tf.Host)
	assert.Equal(t, "9001", tf.Port, "a flag wins over the environment")
	assert.Equal(t, "s3cret", tf.Password)
	assert.Equal(t, "http", tf.Scheme)
	assert.Equal(t, defaultTable, tf.Table)

	bad := targetFlags{Scheme: "ftp", Port: "443"}
	assert.ErrorContains(t, bad.resolve(func(string) (string, bool) { return "", false }), "--scheme")
	bad = targetFlags{Scheme: "https", Port: "99999"}
	assert.ErrorContains(t, bad.resolve(func(string) (string, bool) { return "", false }), "--port")
}
