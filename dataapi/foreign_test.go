package dataapi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForeignErrorBodiesAreDescribed checks that an error body that is not
// in the Data API's form reaches callers as a description, never as its
// bytes, while the Data API's own messages and bare text are kept.
func TestForeignErrorBodiesAreDescribed(t *testing.T) {
	for _, tc := range []struct {
		name, body, contentType string
		status                  int
		want, notWant           string
	}{
		{name: "proxy HTML page", status: 404, contentType: "text/html; charset=utf-8",
			body: "<html><body><h1>404</h1>internal host db-7.corp:9000</body></html>",
			want: "not the Data API's (66 bytes, text/html; charset=utf-8)", notWant: "db-7.corp"},
		{name: "HTML without a content type", status: 400, body: "<!DOCTYPE html><p>secret-ish</p>",
			want: "not the Data API's", notWant: "secret-ish"},
		{name: "binary", status: 400, contentType: "application/octet-stream", body: "\x00\x01\x02garbage",
			want: "not the Data API's", notWant: "garbage"},
		{name: "long text", status: 400, contentType: "text/plain", body: strings.Repeat("x", maxPlainMessage+1),
			want: "not the Data API's", notWant: "xxxx"},
		{name: "Data API error", status: 400, contentType: "text/plain", body: "Error 1146 (42S02): Table 'db.t' doesn't exist",
			want: "Table 'db.t' doesn't exist"},
		{name: "Data API bare text", status: 400, contentType: "text/plain", body: "database does not exist",
			want: "database does not exist"},
		{name: "too large", status: 400, contentType: "text/plain", body: "Error reading request body: http: request body too large",
			want: "request body too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAPI{steps: []step{status(tc.status, tc.body, "Content-Type", tc.contentType)}}
			c, _, _ := serve(t, f, nil)
			_, err := c.Exec(context.Background(), "SELECT 1")
			var ae *APIError
			require.True(t, errors.As(err, &ae), "%v", err)
			assert.Contains(t, err.Error(), tc.want)
			if tc.notWant != "" {
				assert.NotContains(t, err.Error(), tc.notWant)
			}
		})
	}
}
