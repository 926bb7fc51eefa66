package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"

	snakecase "github.com/segmentio/go-snakecase"
)

// MaxNameLength is SingleStore's limit on table and column names, in
// characters. Names are ASCII after snake-casing, so it is also bytes.
const MaxNameLength = 256

// hashSuffixLength is the length of the "_" and hex hash that end a name cut
// to MaxNameLength.
const hashSuffixLength = 1 + 12

// Standard table names.
const (
	TableTracks     = "tracks"
	TableIdentifies = "identifies"
	TableUsers      = "users"
	TablePages      = "pages"
	TableScreens    = "screens"
	TableGroups     = "groups"
	TableAccounts   = "accounts"
	TableAliases    = "aliases"
)

// StandardTables are the eight tables every source has, whatever its events.
var StandardTables = []string{TableTracks, TableIdentifies, TableUsers, TablePages, TableScreens, TableGroups, TableAccounts, TableAliases}

func isStandardTable(name string) bool {
	for _, t := range StandardTables {
		if t == name {
			return true
		}
	}
	return false
}

// snakeCache remembers the snake case of keys seen: events repeat the same
// few hundred keys, and go-snakecase allocates for every key it changes. It
// stops growing at snakeCacheMax entries, so keys sent once do not grow it
// without bound.
var (
	snakeCache   sync.Map // string → string
	snakeEntries atomic.Int64
)

const snakeCacheMax = 1 << 16

func snake(s string) string {
	if v, ok := snakeCache.Load(s); ok {
		return v.(string)
	}
	out := snakecase.Snakecase(s)
	if snakeEntries.Load() < snakeCacheMax {
		// Keys are copied: s may point into an event's buffer.
		snakeCache.Store(strings.Clone(s), out)
		snakeEntries.Add(1)
	}
	return out
}

// ColumnFor returns the column of a property or trait key: its snake case
// (go-snakecase), with a leading "_" when it starts with a digit, and cut to
// MaxNameLength characters with a hash suffix. It returns "" for a key whose
// snake case is empty (only non-ASCII letters or symbols): such a value has
// no column and goes to _unmapped under its key.
func ColumnFor(key string) string {
	return finish(snake(key))
}

// TableFor returns the table of a track event's name: ColumnFor of it,
// with a leading "_" when it is one of the standard tables ("users" →
// "_users"). It returns "" for a name whose snake case is empty: such an
// event writes its tracks row only.
func TableFor(event string) string {
	name := ColumnFor(event)
	if isStandardTable(name) {
		name = "_" + name
	}
	return name
}

// finish applies the leading-digit and length rules to a snake-cased name.
func finish(name string) string {
	if name == "" {
		return ""
	}
	if name[0] >= '0' && name[0] <= '9' {
		name = "_" + name
	}
	return limit(name)
}

// limit cuts a name longer than MaxNameLength and ends it in a hash of the
// whole name, so two long names that share their first characters never
// share a column.
func limit(name string) string {
	if len(name) <= MaxNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:MaxNameLength-hashSuffixLength] + "_" + hex.EncodeToString(sum[:])[:hashSuffixLength-1]
}

// joinName is the column of a nested key: the parent's column, "_", and the
// child's snake case, cut like any name. It returns "" when the child's
// snake case is empty.
func joinName(parent, key string) string {
	if parent == "" {
		return finish(snake(key))
	}
	k := joinKey{parent, key}
	if v, ok := joinCache.Load(k); ok {
		return v.(string)
	}
	s := snake(key)
	if s != "" {
		s = limit(parent + "_" + s)
	}
	if joinEntries.Load() < snakeCacheMax {
		joinCache.Store(joinKey{strings.Clone(parent), strings.Clone(key)}, s)
		joinEntries.Add(1)
	}
	return s
}

// joinKey is a parent column and a child key, the key of joinCache.
type joinKey struct{ parent, key string }

// joinCache remembers the columns of nested keys, bounded like snakeCache.
var (
	joinCache   sync.Map // joinKey → string
	joinEntries atomic.Int64
)

// QuoteIdentifier quotes a name for SQL with backticks, doubling any
// backtick inside it.
func QuoteIdentifier(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
