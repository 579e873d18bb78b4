package secret

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The forms a registered value is matched in. A web stack shows a value
// escaped far more often than verbatim:
//
//   - HTML: html.EscapeString and html/template (&amp; &lt; &gt; &#34; &#39;),
//     Chromium's serializer (&quot; &nbsp;), and numeric character
//     references of any character, decimal or hex, either case, up to three
//     leading zeros, with or without the closing ';' (browsers accept both);
//   - URL: url.QueryEscape ('+' for space), url.PathEscape and %-encoding of
//     any byte, hex digits in either case, also twice (%2541: a URL inside
//     another URL's query);
//   - JSON and JavaScript: \uXXXX of any character (either case; surrogate
//     pairs beyond the BMP), \xHH, and the short escapes \n \r \t \b \f,
//     which covers encoding/json's \u003c \u003e \u0026 and html/template's
//     JS escaper; and a backslash before any ASCII punctuation (\" \\ \/
//     \' in strings, Markdown's \| \* \_);
//   - base64 (standard and URL alphabets, padded or raw, and standard
//     base64 %-encoded as in a query), at each of the three alignments a
//     value can have inside a longer encoded blob (a Basic credential
//     "user:secret", a JWT), and hex in either case.
//
// The first three are per character, so text that mixes them (an
// HTML-escaped value where only some characters were escaped, a URL where
// the browser encoded some and not others) is matched too: a run of
// characters each of which decodes, in one of these ways, to the next
// character of the secret. Base64 and hex are whole-value forms.
//
// Base64 wrapped over lines, hex with separators, hex.Dump and decimal
// byte lists are found by decoding (decoded.go).
//
// Not matched: other forms nested two deep (a %-encoded HTML escape, base64
// of a URL-encoded value, JSON inside JSON), and encodings no web stack
// produces by default (rot13, gzip, UTF-16).

// charAlternatives returns the regular expressions (Go and JavaScript
// syntax alike) that stand for the rune r in text, and the length of the
// longest text any of them matches.
func charAlternatives(r rune) ([]string, int) {
	lit := string(r)
	alts := []string{regexp.QuoteMeta(lit)}
	longest := len(lit)
	add := func(re string, n int) {
		alts = append(alts, re)
		longest = max(longest, n)
	}
	// HTML numeric character references.
	dec := strconv.Itoa(int(r))
	add("&#0{0,3}"+dec+";?", 2+3+len(dec)+1)
	hx := strconv.FormatInt(int64(r), 16)
	add("&#[xX]0{0,3}"+anyCaseHex(hx)+";?", 3+3+len(hx)+1)
	if name, ok := htmlNamed[r]; ok {
		add("&(?:"+name+");", 2+len(strings.Split(name, "|")[0]))
	}
	// Percent-encoding of every byte, once or twice (a URL carried in
	// another URL's query: a redirect or "next" parameter).
	var pct, pct2 strings.Builder
	for _, b := range []byte(lit) {
		pct.WriteString("%" + anyCaseHex(fmt.Sprintf("%02x", b)))
		pct2.WriteString("%25" + anyCaseHex(fmt.Sprintf("%02x", b)))
	}
	add(pct.String(), 3*len(lit))
	add(pct2.String(), 5*len(lit))
	if r == ' ' {
		add(`\+`, 1)
		add(`%2[bB]`, 3)
	}
	// JSON escapes.
	if r < 0x10000 {
		add(`\\u`+anyCaseHex(fmt.Sprintf("%04x", r)), 6)
	} else {
		r1, r2 := surrogates(r)
		add(`\\u`+anyCaseHex(fmt.Sprintf("%04x", r1))+`\\u`+anyCaseHex(fmt.Sprintf("%04x", r2)), 12)
	}
	if e, ok := jsonShort[r]; ok {
		add(regexp.QuoteMeta(e), len(e))
	}
	// A backslash before any ASCII punctuation: JavaScript's \' and
	// Markdown's escapes (a secret with a | in a summary table's cell).
	if r < 0x80 && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r) {
		add(`\\`+regexp.QuoteMeta(lit), 2)
	}
	if r < 0x100 {
		add(`\\x`+anyCaseHex(fmt.Sprintf("%02x", r)), 4)
	}
	return alts, longest
}

var htmlNamed = map[rune]string{
	'&':    "amp|AMP",
	'<':    "lt|LT",
	'>':    "gt|GT",
	'"':    "quot|QUOT",
	'\'':   "apos",
	0x00a0: "nbsp",
}

var jsonShort = map[rune]string{
	'\n': `\n`, '\r': `\r`, '\t': `\t`, '\b': `\b`, '\f': `\f`,
}

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// anyCaseHex turns hex digits into a pattern matching them in either case.
func anyCaseHex(h string) string {
	var b strings.Builder
	for _, c := range h {
		if c >= 'a' && c <= 'f' {
			b.WriteString("[" + string(c) + strings.ToUpper(string(c)) + "]")
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// base64Cores returns, for each alignment of v inside a longer byte string
// (its offset modulo 3), the base64 characters that depend on v's bytes
// alone, in the standard and URL alphabets. Padding is never part of a
// core, so padded and raw encodings share them. Every base64 text that
// encodes v somewhere in its input contains one of these.
func base64Cores(v string) []string {
	var out []string
	n := len(v)
	for k := 0; k < 3; k++ {
		buf := make([]byte, k+n)
		copy(buf[k:], v)
		first := (8*k + 5) / 6  // first 6-bit group starting at or after v's first bit
		last := (8*(k+n))/6 - 1 // last 6-bit group ending at or before v's last bit
		if last < first {
			continue
		}
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			s := enc.EncodeToString(buf)
			if last < len(s) {
				out = append(out, s[first:last+1])
			}
		}
	}
	return out
}

// compile builds the matcher for every registered value.
func compile(vals []string) *matcher {
	m := &matcher{}
	if len(vals) == 0 {
		return m
	}
	var alts, lits []string
	decoded := 0
	seen := map[string]bool{}
	literal := func(s string) {
		if len(s) < minLen || seen[s] {
			return
		}
		seen[s] = true
		lits = append(lits, s)
		m.maxLen = max(m.maxLen, len(s))
		m.starts[s[0]] = true
	}
	for _, v := range vals {
		m.values = append(m.values, []byte(v))
		if f := newFragments([]byte(v)); f != nil {
			m.frags = append(m.frags, f)
			for i := 0; i+f.k <= len(v); i++ {
				h := uint16(v[i])<<8 | uint16(v[i+1])
				m.fragPairs[h>>6] |= 1 << (h & 63)
			}
		}
		m.first[v[0]] = true
		if m.pairs == nil {
			m.pairs = map[[2]byte]bool{}
		}
		m.pairs[[2]byte{v[0], v[1]}] = true
		h := fmt.Sprintf("%02x", v[0])
		m.listStart['0'] = true
		m.listStart[h[0]] = true
		m.listStart[strings.ToUpper(h)[0]] = true
		m.listStart[strconv.Itoa(int(v[0]))[0]] = true
		decoded = max(decoded, decodedMaxLen(len(v), base64.StdEncoding.EncodedLen(len(v))))
		var seq strings.Builder
		total := 0
		for i := 0; i < len(v); {
			r, size := utf8.DecodeRuneInString(v[i:])
			var ra []string
			var n int
			if r == utf8.RuneError && size == 1 {
				// Not UTF-8: a regular expression cannot name the byte, but
				// RE2 reads every invalid byte of the text as U+FFFD, so
				// that character stands for it (and its %-encoding).
				ra, n = []string{string(utf8.RuneError), "%" + anyCaseHex(fmt.Sprintf("%02x", v[i]))}, 3
			} else {
				ra, n = charAlternatives(r)
			}
			seq.WriteString("(?:" + strings.Join(ra, "|") + ")")
			total += n
			if i == 0 {
				for _, s := range []byte{v[0], '&', '%', '\\'} {
					m.starts[s] = true
				}
				if r == ' ' {
					m.starts['+'] = true
				}
				if r == utf8.RuneError {
					m.starts[0xef] = true // U+FFFD's first byte
					for b := 0x80; b < 0x100; b++ {
						m.starts[b] = true
					}
				}
			}
			i += size
		}
		alts = append(alts, seq.String())
		m.maxLen = max(m.maxLen, total)
		if strings.Contains(v, "\n") {
			m.newline = true
		}
		var b64 []string
		b64 = append(b64, base64Cores(v)...)
		// The value encoded on its own, whole (with its final partial
		// group and padding), so nothing of it is left beside the mask.
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			b64 = append(b64, enc.EncodeToString([]byte(v)))
		}
		for _, c := range b64 {
			literal(c)
			// Standard base64 in a URL's query has its + / = %-encoded.
			literal(url.QueryEscape(c))
		}
		literal(hex.EncodeToString([]byte(v)))
		literal(strings.ToUpper(hex.EncodeToString([]byte(v))))
	}
	// Longest literal first: JavaScript takes the first alternative that
	// matches (RE2 is told to take the longest), and a whole base64 value
	// should go with its padding rather than leave it beside the mask.
	sort.SliceStable(lits, func(i, j int) bool { return len(lits[i]) > len(lits[j]) })
	for _, l := range lits {
		alts = append(alts, regexp.QuoteMeta(l))
	}
	m.src = strings.Join(alts, "|")
	// Every byte any form can hold (compile's alternatives are all built
	// from these): text is cut into runs of them before the (slow, NFA)
	// regular expression is run.
	for _, v := range vals {
		for i := 0; i < len(v); i++ {
			m.alphabet[v[i]] = true
		}
		if !utf8.ValidString(v) {
			for _, b := range []byte(string(utf8.RuneError)) {
				m.alphabet[b] = true
			}
		}
	}
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			m.alphabet[l[i]] = true
		}
	}
	for _, c := range "&#;%+\\0123456789abcdefxuqotmplgsnABCDEFXQUOTMPLGS" {
		m.alphabet[c] = true
	}
	// A stream may pass on a byte no match begins with: neither a form
	// nor a decoded form (whose matches begin with a value's first
	// number, decoded.go), nor base64, which a line end may continue: a
	// stream counts the base64 characters before a line end to decide
	// whether to hold the line back, so it must not pass on their start.
	for c := 0; c < 256; c++ {
		m.streamStarts[c] = m.starts[c] || m.listStart[c] || isB64[c]
	}
	// The regular expression is tried on windows of formLen bytes (a
	// longer window makes each try slower); a stream holds back for the
	// decoded forms too.
	m.formLen = m.maxLen
	m.maxLen = max(m.maxLen, decoded)
	m.anchored = regexp.MustCompile(`^(?:` + m.src + `)`)
	m.anchored.Longest()
	return m
}
