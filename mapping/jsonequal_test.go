package mapping

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// jsonEqual compares two JSON texts as values: object key order does not
// matter, numbers compare by exact decimal value (never through float64, so
// 12345678901234567890 and 12345678901234567000 differ), strings exactly.
func jsonEqual(a, b []byte) (bool, error) {
	va, err := decodeJSON(a)
	if err != nil {
		return false, fmt.Errorf("decoding %s: %w", a, err)
	}
	vb, err := decodeJSON(b)
	if err != nil {
		return false, fmt.Errorf("decoding %s: %w", b, err)
	}
	return valuesEqual(va, vb), nil
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}

func valuesEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return false
		}
		for k, v := range a {
			w, ok := bm[k]
			if !ok || !valuesEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return false
		}
		for i := range a {
			if !valuesEqual(a[i], bs[i]) {
				return false
			}
		}
		return true
	case json.Number:
		bn, ok := b.(json.Number)
		if !ok {
			return false
		}
		ra, oka := new(big.Rat).SetString(strings.TrimPrefix(string(a), "+"))
		rb, okb := new(big.Rat).SetString(strings.TrimPrefix(string(bn), "+"))
		return oka && okb && ra.Cmp(rb) == 0
	}
	return a == b
}
