package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/s2segment/s2segment/destination"
	"github.com/s2segment/s2segment/destination/singlestore"
	"github.com/s2segment/s2segment/internal/endpoint"
)

// statusOptions are the options of serve's status page: a form that runs an
// event through a source's mapping and subscription as "s2segment try"
// does, writing nothing.
func statusOptions(st *serveSetup) endpoint.StatusOptions {
	encs := map[string]*singlestore.Encoder{}
	var names []string
	for i, src := range st.sources {
		name := serveSourceName(src.name)
		names = append(names, name)
		if w := st.sinks[i].Writer(); w != nil {
			encs[name] = w.Encoder()
		} else {
			encs[name] = nil // the warehouse action: no single row to show
		}
	}
	var mu sync.Mutex // one try at a time: the buffers are shared
	var buf, row []byte
	var payload destination.Payload
	return endpoint.StatusOptions{
		Action:  singlestore.SendActionKey,
		Sources: names,
		Try: func(_ context.Context, source string, event []byte) (json.RawMessage, error) {
			enc, ok := encs[source]
			if !ok {
				if len(names) != 1 || source != "" {
					return nil, fmt.Errorf("no source %q", source)
				}
				enc = encs[names[0]]
			}
			if enc == nil {
				return nil, fmt.Errorf("source %q writes Segment's warehouse tables; the form shows the row of the Send Data action only (try \"s2segment warehouse plan\")", source)
			}
			mu.Lock()
			defer mu.Unlock()
			return json.Marshal(tryEvent(enc, event, 1, &buf, &row, &payload))
		},
	}
}
