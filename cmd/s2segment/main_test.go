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
	want := readBuildVersion().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		code, out, _ := runCLI(t, "", args...)
		assert.Equal(t, exitOK, code, "args %q", args)
		assert.Equal(t, want, out, "args %q", args)
	}
	assert.Regexp(t, `^s2segment \S+ \(github\.com/s2segment/s2segment, `, want)
}

func TestVersionString(t *testing.T) {
	v := buildVersion{Module: "github.com/s2segment/s2segment", Version: "v0.0.0-20261204032749-2bd33e0ea83c",
		Revision: "2bd33e0ea83c41944a7f040cbd2f85e2b1c3e873", Time: "2026-12-04T03:27:49Z", Modified: true, GoVersion: "go1.26.8"}
	assert.Equal(t, "s2segment v0.0.0-20261204032749-2bd33e0ea83c (github.com/s2segment/s2segment, commit 2bd33e0ea83c (modified), 2026-12-04T03:27:49Z, go1.26.8)", v.String())
	v = buildVersion{Module: "github.com/s2segment/s2segment", Version: "(devel)", GoVersion: "go1.26.8"}
	assert.Equal(t, "s2segment (devel) (github.com/s2segment/s2segment, commit unknown: built without VCS information, go1.26.8)", v.String())
}

func TestMistypedCommandSuggestion(t *testing.T) {
	code, _, errOut := runCLI(t, "", "replya")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `unknown command "replya" (did you mean "replay"?)`)
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

func TestHostOnlyFlagsRefusedWithoutHost(t *testing.T) {
	t.Setenv("S2_HOST", "")
	for _, flag := range []string{"--port", "--user", "--password"} {
		code, _, errOut := runCLI(t, "", "replay", flag, "9000", "--dry-run", "-")
		assert.Equal(t, exitUsage, code, flag)
		assert.Contains(t, errOut, flag+" is given but --host is not", flag)
	}
}

func TestFlagValueCompletion(t *testing.T) {
	code, out, _ := runCLI(t, "", "__complete", "bench", "--schema", "")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out, "dedupe\t")
	assert.Contains(t, out, "reference\t")
	_, out, _ = runCLI(t, "", "__complete", "bench", "--stage", "")
	assert.Contains(t, out, "pipeline\t")
	_, out, _ = runCLI(t, "", "__complete", "serve", "--log-level", "")
	assert.Contains(t, out, "debug\t")
}
