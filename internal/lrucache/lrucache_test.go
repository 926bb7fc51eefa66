package lrucache

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEvictionOrderAndRelease(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		seq      []string // keys asked for, in order
		built    []string // keys whose value was built
		released []string // values pushed out, in order
		kept     []string
	}{
		{name: "all fit", size: 3, seq: []string{"a", "b", "a", "c"}, built: []string{"a", "b", "c"}, kept: []string{"a", "b", "c"}},
		{name: "oldest out", size: 2, seq: []string{"a", "b", "c"}, built: []string{"a", "b", "c"}, released: []string{"a"}, kept: []string{"b", "c"}},
		{name: "a hit keeps a key", size: 2, seq: []string{"a", "b", "a", "c"}, built: []string{"a", "b", "c"}, released: []string{"b"}, kept: []string{"a", "c"}},
		{name: "pushed out, built again", size: 1, seq: []string{"a", "b", "a"}, built: []string{"a", "b", "a"}, released: []string{"a", "b"}, kept: []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var released []string
			c, err := New[string](tc.size, func(v string) { released = append(released, v) })
			require.NoError(t, err)
			var built []string
			for _, k := range tc.seq {
				v, err := c.GetOrMake(k, func() (string, error) { built = append(built, k); return k, nil })
				require.NoError(t, err)
				assert.Equal(t, k, v)
			}
			assert.Equal(t, tc.built, built, "built")
			assert.Equal(t, tc.released, released, "released")
			assert.Equal(t, len(tc.kept), c.Len())
			for _, k := range tc.kept {
				assert.True(t, c.Contains(k), "%s kept", k)
			}
		})
	}
}

func TestBuildErrorKeepsNothing(t *testing.T) {
	c, err := New[string, int](2, nil)
	require.NoError(t, err)
	errBuild := errors.New("no")
	_, err = c.GetOrMake("a", func() (int, error) { return 0, errBuild })
	require.ErrorIs(t, err, errBuild)
	assert.Zero(t, c.Len())
	v, err := c.GetOrMake("a", func() (int, error) { return 7, nil })
	require.NoError(t, err)
	assert.Equal(t, 7, v)
}

func TestConcurrentMissesBuildOnce(t *testing.T) {
	c, err := New[int, *int](4, nil)
	require.NoError(t, err)
	var builds atomic.Int64
	const callers = 32
	got := make([]*int, callers)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range callers {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			got[i], _ = c.GetOrMake(1, func() (*int, error) { builds.Add(1); v := 1; return &v, nil })
		}()
	}
	start.Done()
	done.Wait()
	assert.Equal(t, int64(1), builds.Load())
	for i := range got {
		assert.Same(t, got[0], got[i], "caller %d", i)
	}
}

// A release that uses the cache must not deadlock: it runs after the
// insertion lock is released.
func TestReleaseRunsOutsideTheLock(t *testing.T) {
	var c *Cache[string, string]
	var seen []bool
	c, err := New[string](1, func(string) {
		_, err := c.GetOrMake("from-release", func() (string, error) { return "r", nil })
		seen = append(seen, err == nil)
	})
	require.NoError(t, err)
	_, _ = c.GetOrMake("a", func() (string, error) { return "a", nil })
	_, _ = c.GetOrMake("b", func() (string, error) { return "b", nil })
	assert.NotEmpty(t, seen)
	assert.NotContains(t, seen, false)
}

func TestNewRefusesANonPositiveSize(t *testing.T) {
	for _, size := range []int{0, -1} {
		_, err := New[string, int](size, nil)
		assert.Error(t, err, "size %d", size)
	}
}

func BenchmarkGetOrMakeHit(b *testing.B) {
	c, err := New[string, int](64, nil)
	require.NoError(b, err)
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
		_, _ = c.GetOrMake(keys[i], func() (int, error) { return i, nil })
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = c.GetOrMake(keys[i%len(keys)], func() (int, error) { return 0, errors.New("miss") })
		i++
	}
}

func ExampleCache_GetOrMake() {
	c, _ := New[string](1, func(v string) { fmt.Println("released", v) })
	v, _ := c.GetOrMake("a", func() (string, error) { return "client for a", nil })
	fmt.Println(v)
	v, _ = c.GetOrMake("a", func() (string, error) { return "never built", nil })
	fmt.Println(v)
	_, _ = c.GetOrMake("b", func() (string, error) { return "client for b", nil })
	// Output:
	// client for a
	// client for a
	// released client for a
}
