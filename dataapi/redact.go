package dataapi

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Redacted is what a Redactor puts in place of a secret.
const Redacted = "REDACTED"

// minFreeSecret is the length from which a secret is replaced wherever it
// occurs, even inside a word. Shorter secrets are replaced only where they
// stand as whole tokens (see Redactor).
const minFreeSecret = 4

// Redactor removes secrets from text: passwords, write keys, shared secrets,
// tokens, of any length, and the value of any Authorization header. It is
// safe for concurrent use once made.
//
// The rule, for each secret s:
//
//   - s of 4 bytes or more is replaced wherever it occurs;
//   - s of 1 to 3 bytes is replaced where it stands as a whole token: not
//     preceded or followed by a letter, digit or '_' (so the password "ab"
//     is taken out of "user:ab@host", "password=ab" or "'ab'", while
//     "table" and "about" are left alone); a short secret inside a word
//     cannot be told from the word, and no credential context puts it
//     there;
//   - the Basic-auth form base64(user:s) and base64(s) are replaced wherever
//     they occur;
//   - whatever follows "Authorization:" (the header echoed by a server or a
//     proxy) or the words Basic and Bearer up to the end of its line is
//     replaced, whoever's credentials it holds.
//
// Every secret is looked for in the text as it was given; the longest
// secrets go first, so one secret that contains another is replaced whole.
type Redactor struct {
	long  []string // replaced everywhere, longest first
	short []string // replaced as whole tokens
}

// NewRedactor returns a Redactor of the given secrets; empty ones are
// ignored. user, when not empty, is the user name that goes with the
// secrets in Basic authentication.
func NewRedactor(user string, secrets ...string) *Redactor {
	r := &Redactor{}
	add := func(s string) {
		if s == "" {
			return
		}
		if len(s) >= minFreeSecret {
			r.long = append(r.long, s)
		} else {
			r.short = append(r.short, s)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		add(s)
		add(base64.StdEncoding.EncodeToString([]byte(s)))
		add(base64.StdEncoding.EncodeToString([]byte(user + ":" + s)))
		add(base64.RawStdEncoding.EncodeToString([]byte(user + ":" + s)))
	}
	sortLongestFirst(r.long)
	sortLongestFirst(r.short)
	return r
}

func sortLongestFirst(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && len(s[j]) > len(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Redact returns s without the secrets and Authorization values.
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	s = redactAuthorization(s)
	for _, sec := range r.long {
		s = strings.ReplaceAll(s, sec, Redacted)
	}
	for _, sec := range r.short {
		s = replaceTokens(s, sec)
	}
	return s
}

// redactAuthorization replaces credentials found by their form:
//
//   - the value of an "Authorization:" header (up to the end of the line, a
//     quote, a comma or a semicolon), keeping a Basic or Bearer scheme word;
//   - the token after "Basic " when it is base64 of a "user:password" pair;
//   - the token after "Bearer " when it is a token68 of 8 or more bytes.
func redactAuthorization(s string) string {
	lower := strings.ToLower(s)
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if i > 0 && isTokenByte(s[i-1]) {
			continue
		}
		var start, end int
		switch {
		case strings.HasPrefix(lower[i:], "authorization:"):
			start = skipSpaces(s, i+len("authorization:"))
			for _, scheme := range []string{"basic ", "bearer "} {
				if strings.HasPrefix(lower[start:], scheme) {
					start = skipSpaces(s, start+len(scheme))
				}
			}
			end = start
			for end < len(s) && !strings.ContainsRune("\r\n\"',;", rune(s[end])) {
				end++
			}
		case strings.HasPrefix(lower[i:], "basic "):
			start = skipSpaces(s, i+len("basic "))
			end = token68End(s, start)
			dec, err := base64.StdEncoding.DecodeString(s[start:end])
			if err != nil {
				dec, err = base64.RawStdEncoding.DecodeString(s[start:end])
			}
			if err != nil || !strings.Contains(string(dec), ":") {
				continue
			}
		case strings.HasPrefix(lower[i:], "bearer "):
			start = skipSpaces(s, i+len("bearer "))
			end = token68End(s, start)
			if end-start < 8 {
				continue
			}
		default:
			continue
		}
		if end == start || s[start:end] == Redacted {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(Redacted)
		last = end
		i = end - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func skipSpaces(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// token68End returns the end of the token68 (RFC 9110 credentials) that
// starts at i.
func token68End(s string, i int) int {
	for i < len(s) && (isTokenByte(s[i]) || strings.IndexByte("-._~+/=", s[i]) >= 0) {
		i++
	}
	return i
}

// replaceTokens replaces the occurrences of sec in s that stand as whole
// tokens.
func replaceTokens(s, sec string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+len(sec) <= len(s); {
		j := strings.Index(s[i:], sec)
		if j < 0 {
			break
		}
		at := i + j
		end := at + len(sec)
		before := at == 0 || !isTokenRuneBefore(s, at)
		after := end == len(s) || !isTokenRuneAt(s, end)
		if before && after {
			b.WriteString(s[last:at])
			b.WriteString(Redacted)
			last = end
			i = end
			continue
		}
		i = at + 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isTokenByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isTokenRuneBefore reports whether the character ending at byte i of s is
// part of a word: a letter, digit, '_' or any non-ASCII character.
func isTokenRuneBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r >= utf8.RuneSelf || isTokenByte(byte(r))
}

// isTokenRuneAt reports whether the character at byte i of s is part of a
// word.
func isTokenRuneAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r >= utf8.RuneSelf || isTokenByte(byte(r))
}
