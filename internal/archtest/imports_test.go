package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/s2segment/s2segment"

// rule says which non-standard imports a package may have. Entries are
// import-path prefixes; module-internal paths are written relative to the
// module ("mapping", "batch").
type rule struct {
	internal []string
	external []string
}

// rules is the package table of the design: batch knows nothing of Segment or
// SingleStore, mapping knows nothing of actions or SingleStore, dataapi knows
// nothing of Segment, and the emulator checks the wire format independently
// of the client.
var rules = map[string]rule{
	// internal/jsontext is the one JSON text leaf (escaped strings, numbers,
	// the depth limit and the depth scan, UTF-8 offsets); internal/checked
	// the one reading leaf: it scans an event once (structure, UTF-8, depth)
	// for every package that reads events.
	"internal/jsontext": {},
	// internal/wait is the one context-bound sleep.
	"internal/wait": {},
	"internal/checked": {
		internal: []string{"internal/jsontext"},
		external: []string{"github.com/tidwall/gjson"},
	},
	"batch":    {internal: []string{"internal/checked", "internal/jsontext"}}, // the depth limit
	"fixtures": {},
	"mapping": {
		internal: []string{"internal/checked", "internal/jsontext"},
		external: []string{"github.com/tidwall/", "github.com/osteele/"},
	},
	"dataapi": {
		internal: []string{"internal/wait"},
		external: []string{"github.com/go-resty/resty/v2"},
	},
	"dataapi/emulator": {
		internal: []string{"internal/jsontext", "internal/wait"},
		external: []string{"github.com/dolthub/", "github.com/go-sql-driver/mysql"},
	},
	"destination": {
		internal: []string{"mapping", "batch", "internal/checked", "internal/jsontext"},
		external: []string{"github.com/tidwall/", "github.com/go-playground/validator/v10"},
	},
	"destination/singlestore": {
		internal: []string{"destination", "mapping", "batch", "dataapi", "internal/checked", "internal/jsontext"},
		external: []string{"github.com/tidwall/", "github.com/segmentio/go-snakecase", "golang.org/x/sync/errgroup"},
	},
	// The warehouse schema engine knows Segment events and SQL types, not
	// HTTP and not the Data API.
	"destination/singlestore/warehouse": {
		internal: []string{"destination", "internal/jsontext"},
		external: []string{"github.com/tidwall/gjson", "github.com/segmentio/go-snakecase"},
	},
	// internal/lrucache is the one bounded cache of values that hold
	// resources (golang-lru's, releasing what it evicts outside its lock).
	"internal/lrucache": {external: []string{"github.com/hashicorp/golang-lru/v2"}},
	// The hosted endpoint's HTTP layer knows no SQL and no mapping: it
	// hands events to a Sink and takes destination's status rules. Its
	// cache of /send sinks is an internal/lrucache.
	"internal/endpoint": {
		internal: []string{"destination", "internal/eventsource", "internal/jsontext", "internal/lrucache"},
		external: []string{"github.com/prometheus/client_golang/", "github.com/tidwall/gjson", "golang.org/x/net/netutil"},
	},
	// The endpoint's one SingleStore adapter; its cache of Data API clients
	// is an internal/lrucache.
	"internal/adapter": {
		internal: []string{"internal/endpoint", "internal/diagnose", "destination", "destination/singlestore", "dataapi", "batch", "internal/lrucache"},
		external: []string{"github.com/prometheus/client_golang/"},
	},
	// The check diagnosis: no HTTP endpoint, no adapter.
	"internal/diagnose": {
		internal: []string{"destination", "destination/singlestore", "dataapi"},
	},
}

type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else {
			require.NoError(t, err)
		}
		pkgs = append(pkgs, p)
	}
	require.NoError(t, cmd.Wait())
	return pkgs
}

func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func hasPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func TestImportGraphIsOneWay(t *testing.T) {
	pkgs := listPackages(t)
	require.NotEmpty(t, pkgs)
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		r, ok := rules[rel]
		if !ok {
			continue // commands, internal helpers and examples may import anything
		}
		for _, imp := range p.Imports {
			if isStandard(imp) {
				continue
			}
			if strings.HasPrefix(imp, module+"/") {
				target := strings.TrimPrefix(imp, module+"/")
				if strings.HasPrefix(target, "internal/") && strings.HasPrefix(target, "internal/"+rel) {
					continue
				}
				allowed := false
				for _, in := range r.internal {
					if target == in {
						allowed = true
					}
				}
				// A package's own sub-packages are its business.
				if strings.HasPrefix(target, rel+"/") {
					allowed = true
				}
				if !allowed {
					t.Errorf("%s imports %s, which the design does not allow", rel, target)
				}
				continue
			}
			if !hasPrefix(imp, r.external) {
				t.Errorf("%s imports %s; allowed outside the standard library: %v", rel, imp, r.external)
			}
		}
	}
}

func TestTestifyOnlyInTests(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/stretchr/testify") {
				t.Errorf("%s imports %s outside its tests", p.ImportPath, imp)
			}
		}
	}
}
