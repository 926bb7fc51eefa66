package mapping

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// JavaScript's toUpperCase and toLowerCase use the full Unicode case
// mapping: the simple mappings of UnicodeData (what Go's unicode package
// has) plus the unconditional mappings of SpecialCasing.txt, which turn one
// character into several (ß → SS), and the Final_Sigma rule.

// specialUpper holds the unconditional multi-character upper-case mappings
// of SpecialCasing.txt.
var specialUpper = map[rune]string{
	0x00DF: "SS", 0xFB00: "FF", 0xFB01: "FI", 0xFB02: "FL", 0xFB03: "FFI", 0xFB04: "FFL",
	0xFB05: "ST", 0xFB06: "ST", 0x0587: "\u0535\u0552", 0xFB13: "\u0544\u0546",
	0xFB14: "\u0544\u0535", 0xFB15: "\u0544\u053B", 0xFB16: "\u054E\u0546", 0xFB17: "\u0544\u053D",
	0x0149: "\u02BCN", 0x0390: "\u0399\u0308\u0301", 0x03B0: "\u03A5\u0308\u0301",
	0x01F0: "J\u030C", 0x1E96: "H\u0331", 0x1E97: "T\u0308", 0x1E98: "W\u030A",
	0x1E99: "Y\u030A", 0x1E9A: "A\u02BE", 0x1F50: "\u03A5\u0313", 0x1F52: "\u03A5\u0313\u0300",
	0x1F54: "\u03A5\u0313\u0301", 0x1F56: "\u03A5\u0313\u0342", 0x1FB6: "\u0391\u0342",
	0x1FC6: "\u0397\u0342", 0x1FD2: "\u0399\u0308\u0300", 0x1FD3: "\u0399\u0308\u0301",
	0x1FD6: "\u0399\u0342", 0x1FD7: "\u0399\u0308\u0342", 0x1FE2: "\u03A5\u0308\u0300",
	0x1FE3: "\u03A5\u0308\u0301", 0x1FE4: "\u03A1\u0313", 0x1FE6: "\u03A5\u0342",
	0x1FE7: "\u03A5\u0308\u0342", 0x1FF6: "\u03A9\u0342",
	0x1FB3: "\u0391\u0399", 0x1FBC: "\u0391\u0399", 0x1FC3: "\u0397\u0399", 0x1FCC: "\u0397\u0399",
	0x1FF3: "\u03A9\u0399", 0x1FFC: "\u03A9\u0399", 0x1FB2: "\u1FBA\u0399", 0x1FB4: "\u0386\u0399",
	0x1FC2: "\u1FCA\u0399", 0x1FC4: "\u0389\u0399", 0x1FF2: "\u1FFA\u0399", 0x1FF4: "\u038F\u0399",
	0x1FB7: "\u0391\u0342\u0399", 0x1FC7: "\u0397\u0342\u0399", 0x1FF7: "\u03A9\u0342\u0399",
}

func init() {
	// Greek letters with ypogegrammeni: U+1F80–U+1FAF upper-case to the
	// capital letter without it followed by IOTA.
	for _, block := range [][2]rune{{0x1F80, 0x1F08}, {0x1F90, 0x1F28}, {0x1FA0, 0x1F68}} {
		for i := rune(0); i < 8; i++ {
			s := string([]rune{block[1] + i, 0x0399})
			specialUpper[block[0]+i] = s
			specialUpper[block[0]+8+i] = s
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// jsUpper is String#toUpperCase.
func jsUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if m, ok := specialUpper[r]; ok {
			b.WriteString(m)
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// jsLower is String#toLowerCase.
func jsLower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch r {
		case 0x0130: // İ → i + COMBINING DOT ABOVE
			b.WriteString("i\u0307")
		case 0x03A3: // Σ → ς at the end of a word
			if finalSigma(s, i) {
				b.WriteRune(0x03C2)
			} else {
				b.WriteRune(0x03C3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is the Final_Sigma condition for the Σ at byte i of s: a cased
// letter before it and none after it, skipping case-ignorable characters.
func finalSigma(s string, i int) bool {
	before := false
	for j := i; j > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:j])
		j -= size
		if caseIgnorable(r) {
			continue
		}
		before = cased(r)
		break
	}
	if !before {
		return false
	}
	for j := i + utf8.RuneLen(0x03A3); j < len(s); {
		r, size := utf8.DecodeRuneInString(s[j:])
		j += size
		if caseIgnorable(r) {
			continue
		}
		return !cased(r)
	}
	return true
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// canonicalize is the case folding of a JavaScript regular expression with
// the i flag and without the u flag: a UTF-16 unit is replaced by its upper
// case when that is a single unit and does not turn non-ASCII into ASCII.
// Characters outside the BMP are two surrogate units, which have no case.
func canonicalize(r rune) rune {
	if r > 0xffff {
		return r
	}
	if _, ok := specialUpper[r]; ok {
		return r
	}
	u := unicode.ToUpper(r)
	if u > 0xffff || (r >= 128 && u < 128) {
		return r
	}
	return u
}
