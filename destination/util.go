package destination

import "unsafe"

// bytesToString returns b as a string without copying. The caller must not
// modify b while the string (or any substring of it, such as a gjson.Result
// read from it) is in use. Events and payloads are never modified once
// read, which is what makes the hot path free of copies.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
