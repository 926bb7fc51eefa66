package warehouse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNames covers every example of docs/warehouse.md.
func TestNames(t *testing.T) {
	for _, tt := range []struct{ in, col, table string }{
		{"Order Completed", "order_completed", "order_completed"},
		{"accountType", "account_type", "account_type"},
		{"productID", "product_id", "product_id"},
		{"omega v2", "omega_v2", "omega_v2"},
		{"CamelCase123Key", "camel_case123_key", "camel_case123_key"},
		{"$browser", "browser", "browser"},
		{"a.b.c", "a_b_c", "a_b_c"},
		{"iOS App Opened", "i_os_app_opened", "i_os_app_opened"},
		{"Product Viewed (v2)", "product_viewed_v2", "product_viewed_v2"},
		{"注文", "", ""},
		{"!!!", "", ""},
		{"9mega", "_9mega", "_9mega"},
		{"users", "users", "_users"},
		{"Tracks", "tracks", "_tracks"},
		{"identifies", "identifies", "_identifies"},
		{"select", "select", "select"},
	} {
		assert.Equal(t, tt.col, ColumnFor(tt.in), "column of %q", tt.in)
		assert.Equal(t, tt.table, TableFor(tt.in), "table of %q", tt.in)
	}
}

func TestLongNamesEndInAHash(t *testing.T) {
	a := strings.Repeat("x", 300) + "a"
	b := strings.Repeat("x", 300) + "b"
	ca, cb := ColumnFor(a), ColumnFor(b)
	assert.Len(t, ca, MaxNameLength)
	assert.Len(t, cb, MaxNameLength)
	assert.NotEqual(t, ca, cb)
	assert.True(t, strings.HasPrefix(ca, strings.Repeat("x", MaxNameLength-hashSuffixLength)+"_"))
	assert.Equal(t, ca, ColumnFor(a), "deterministic")
	exact := strings.Repeat("y", MaxNameLength)
	assert.Equal(t, exact, ColumnFor(exact), "256 characters is not cut")
}

func TestQuoteIdentifier(t *testing.T) {
	assert.Equal(t, "`a``b`", QuoteIdentifier("a`b"))
}
