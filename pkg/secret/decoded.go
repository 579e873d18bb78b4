package secret

import (
	"bytes"
	"regexp"
	"sort"
)

// Forms that a regular expression over the text cannot express compactly
// are found by decoding the text instead, then searching the decoded bytes
// for each registered value:
//
//   - base64 wrapped over lines (MIME's CRLF every 76 characters, PEM's 64,
//     any width): a block of base64 characters broken by line ends is
//     matched with its line ends removed, against every form above;
//   - hex with separators, either case, optional 0x: fmt's "% x" and "% X"
//     ("5a 71 38"), fingerprints ("5a:71:38"), Go's %#v of a []byte
//     ("0x5a, 0x71"), and hex.Dump's hex column, across its lines;
//   - hex.Dump's ASCII column, which is the literal secret cut into
//     16-byte pieces (one per line, where no piece alone is the secret):
//     masked wherever the hex column beside it decodes to a secret;
//   - decimal byte lists: fmt.Sprint([]byte(v)) ("[90 113 56]"), with
//     spaces, commas or both between the numbers;
//   - literal pieces of a long secret (fragLen): a copy of it one
//     character off, or the secret cut by someone's truncation.
//
// Streams (Stream) catch these too, with one limit: a line end is a place
// to flush, so a stream holds back a line that may continue such a form
// only when it ends in at least wrapHold base64 characters or is a
// hex.Dump line. base64 wrapped narrower than wrapHold characters a line
// can have its first line passed on before the rest shows it is a secret;
// RedactBytes, Redact and Contains, which see the whole text, catch every
// width. These forms are not part of Pattern (the browser's DOM check).

// wrapHold is the shortest base64 run at a line end that makes a stream
// hold the line back (see above): shorter runs end most lines of text.
const wrapHold = 16

var (
	isB64  [256]bool // standard and URL base64 alphabets, with padding
	isHex  [256]bool
	isAlnu [256]bool
	isSep  [256]bool // between the numbers of a byte list
)

func init() {
	for c := 0; c < 256; c++ {
		b := byte(c)
		alnum := b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
		isAlnu[c] = alnum
		isB64[c] = alnum || b == '+' || b == '/' || b == '=' || b == '-' || b == '_'
		isHex[c] = b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F'
	}
	for _, c := range " ,:;-\t" {
		isSep[c] = true
	}
}

// dumpLine is one line of hex.Dump: offset, hex column, ASCII column.
var dumpLine = regexp.MustCompile(`(?m)^[ \t]*[0-9a-fA-F]{8}  ((?:[0-9a-fA-F]{2} {1,2}){1,16}) *\|([^\n]{1,16})\|\r?$`)

// decodedMaxLen is the longest text a value of n bytes can take in one of
// these forms (a stream holds back at most this much).
func decodedMaxLen(n, b64 int) int {
	return max(
		6*n,         // "0x5a, " a byte
		2*b64+2,     // base64 wrapped as narrow as every 2 characters, CRLF
		80*(n/16+2), // hex.Dump lines (79 bytes each) the value can span
	)
}

// findDecoded returns the spans of b holding a registered value in one of
// the decoded forms, sorted, possibly overlapping.
func (m *matcher) findDecoded(b []byte) [][2]int {
	var out [][2]int
	out = m.findWrapped(b, out)
	out = m.findByteLists(b, out)
	out = m.findDumps(b, out)
	out = m.findFragments(b, out)
	return out
}

// fragments indexes a long value's pieces of fragLen(len) bytes by their
// first four bytes.
type fragments struct {
	v  []byte
	k  int
	at map[[4]byte][]int
}

// fragLen is the shortest piece of a value of n bytes that is masked on
// its own, or 0 for values too short to have one: a third of it, at
// least 12 bytes. A value printed almost whole — Gomega's "expected"
// side, built from the secret with one character changed, or the secret
// cut by a truncation — is then masked in the pieces it shares with the
// secret. Only literal pieces: not their escaped or encoded forms.
func fragLen(n int) int {
	if n < 16 {
		return 0
	}
	return max(12, n/3)
}

func newFragments(v []byte) *fragments {
	k := fragLen(len(v))
	if k == 0 {
		return nil
	}
	f := &fragments{v: v, k: k, at: map[[4]byte][]int{}}
	for i := 0; i+k <= len(v); i++ {
		key := [4]byte(v[i : i+4])
		f.at[key] = append(f.at[key], i)
	}
	return f
}

// findFragments: pieces of long values (see fragLen), within runs of the
// forms' alphabet (a value's bytes are all in it).
func (m *matcher) findFragments(b []byte, out [][2]int) [][2]int {
	if len(m.frags) == 0 {
		return out
	}
	m.runs(b, func(off int, run []byte) bool {
		if len(run) < 12 {
			return true
		}
		for p := 0; p+12 <= len(run); {
			if h := uint16(run[p])<<8 | uint16(run[p+1]); m.fragPairs[h>>6]&(1<<(h&63)) == 0 {
				p++
				continue
			}
			best := 0
			for _, f := range m.frags {
				if p+f.k > len(run) {
					continue
				}
				for _, i := range f.at[[4]byte(run[p:p+4])] {
					l := 0
					for p+l < len(run) && i+l < len(f.v) && run[p+l] == f.v[i+l] {
						l++
					}
					if l >= f.k {
						best = max(best, l)
					}
				}
			}
			if best == 0 {
				p++
				continue
			}
			out = append(out, [2]int{off + p, off + p + best})
			p += best
		}
		return true
	})
	return out
}

// findWrapped: base64 (or any other form) broken by line ends, each line
// perhaps indented (Ginkgo indents a failure's lines).
func (m *matcher) findWrapped(b []byte, out [][2]int) [][2]int {
	for from := 0; from < len(b); {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			break
		}
		p := from + i
		from = p + 1
		before := p - 1
		if before >= 0 && b[before] == '\r' {
			before--
		}
		after := p + 1
		for after < len(b) && (b[after] == ' ' || b[after] == '\t') {
			after++
		}
		if before < 0 || after >= len(b) || !isB64[b[before]] || !isB64[b[after]] {
			continue
		}
		start, _ := wrappedBack(b, before+1)
		end := after
		for end < len(b) {
			if isB64[b[end]] || b[end] == '\r' {
				end++
			} else if b[end] == '\n' {
				end++
				for end < len(b) && (b[end] == ' ' || b[end] == '\t') {
					end++
				}
			} else {
				break
			}
		}
		from = end
		var stripped []byte
		var at []int
		for k := start; k < end; k++ {
			if c := b[k]; isB64[c] {
				stripped = append(stripped, c)
				at = append(at, k)
			}
		}
		for _, l := range m.findForms(stripped) {
			out = append(out, [2]int{at[l[0]], at[l[1]-1] + 1})
		}
	}
	return out
}

// wrappedBack walks back from k (exclusive) over base64 characters, line
// ends and the indentation after a line end, and returns where that
// stretch starts and how many base64 characters it holds.
func wrappedBack(b []byte, k int) (start, n int) {
	start = k
	for start > 0 {
		c := b[start-1]
		switch {
		case isB64[c]:
			n++
			start--
		case c == '\n' || c == '\r':
			start--
		case c == ' ' || c == '\t':
			j := start - 1
			for j > 0 && (b[j-1] == ' ' || b[j-1] == '\t') {
				j--
			}
			if j == 0 || b[j-1] != '\n' {
				return start, n
			}
			start = j
		default:
			return start, n
		}
	}
	return start, n
}

// token is one byte of a decoded list and where its text is.
type token struct {
	v          byte
	start, end int
}

// findByteLists: hex pairs or decimal numbers with separators. A list is
// parsed only where two of its numbers are the first two bytes of a
// registered value (m.pairs): most text has numbers, few have lists.
func (m *matcher) findByteLists(b []byte, out [][2]int) [][2]int {
	for i := 0; i < len(b); i++ {
		if !m.listStart[b[i]] || i > 0 && isAlnu[b[i-1]] {
			continue
		}
		for _, hex := range []bool{true, false} {
			t1, ok := parseToken(b, i, hex)
			if !ok || !m.first[t1.v] {
				continue
			}
			j := t1.end
			for n := 0; n < 2 && j < len(b) && isSep[b[j]]; n++ {
				j++
			}
			if j == t1.end {
				continue
			}
			t2, ok := parseToken(b, j, hex)
			if !ok || !m.pairs[[2]byte{t1.v, t2.v}] {
				continue
			}
			if toks := byteList(b, i, hex); len(toks) >= minLen {
				out = m.searchTokens(toks, out, nil)
				i = toks[len(toks)-1].end - 1
				break
			}
		}
	}
	return out
}

// byteList parses the list starting at i: tokens, each followed by one or
// two separator bytes, the same separator text throughout apart from
// hex.Dump's double space.
func byteList(b []byte, i int, hex bool) []token {
	var toks []token
	for {
		t, ok := parseToken(b, i, hex)
		if !ok {
			return toks
		}
		toks = append(toks, t)
		j := t.end
		for n := 0; n < 2 && j < len(b) && isSep[b[j]]; n++ {
			j++
		}
		if j == t.end {
			return toks
		}
		i = j
	}
}

func parseToken(b []byte, i int, hex bool) (token, bool) {
	j := i
	if hex {
		if j+1 < len(b) && b[j] == '0' && (b[j+1] == 'x' || b[j+1] == 'X') {
			j += 2
		}
		if j+1 >= len(b) || !isHex[b[j]] || !isHex[b[j+1]] || j+2 < len(b) && isAlnu[b[j+2]] {
			return token{}, false
		}
		return token{v: unhex(b[j])<<4 | unhex(b[j+1]), start: i, end: j + 2}, true
	}
	v := 0
	for j < len(b) && j-i < 3 && b[j] >= '0' && b[j] <= '9' {
		v = 10*v + int(b[j]-'0')
		j++
	}
	if j == i || v > 255 || j < len(b) && isAlnu[b[j]] {
		return token{}, false
	}
	return token{v: byte(v), start: i, end: j}, true
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// searchTokens appends the spans of every registered value in the bytes
// toks decode to: from the first byte's text to the last's, and, when
// also is given (hex.Dump's ASCII column), on to the last byte's
// character there.
func (m *matcher) searchTokens(toks []token, out [][2]int, also []token) [][2]int {
	dec := make([]byte, len(toks))
	for k, t := range toks {
		dec[k] = t.v
	}
	for _, v := range m.values {
		for from := 0; from+len(v) <= len(dec); {
			k := bytes.Index(dec[from:], v)
			if k < 0 {
				break
			}
			s, e := from+k, from+k+len(v)
			end := toks[e-1].end
			if also != nil {
				// One span, to the last byte's ASCII character: a stream
				// emits a match whole or not at all.
				end = max(end, also[e-1].end)
			}
			out = append(out, [2]int{toks[s].start, end})
			from = e
		}
	}
	return out
}

// findDumps: hex.Dump output, whose hex column continues from line to
// line and whose ASCII column shows the printable bytes as they are.
func (m *matcher) findDumps(b []byte, out [][2]int) [][2]int {
	// Every dump line ends "|" at a line end ('|' is rare in text, so
	// this is quick to rule out).
	if !bytes.Contains(b, []byte("|\n")) && !bytes.Contains(b, []byte("|\r")) && !bytes.HasSuffix(b, []byte("|")) {
		return out
	}
	var hexToks, ascToks []token
	flush := func() {
		if len(hexToks) >= minLen && len(hexToks) == len(ascToks) {
			out = m.searchTokens(hexToks, out, ascToks)
		}
		hexToks, ascToks = hexToks[:0], ascToks[:0]
	}
	prevEnd := -1
	for _, loc := range dumpLine.FindAllSubmatchIndex(b, -1) {
		if loc[0] != prevEnd+1 {
			flush()
		}
		prevEnd = loc[1] // at the line's '\n'
		hs, he, as, ae := loc[2], loc[3], loc[4], loc[5]
		n := 0
		for i := hs; i+1 < he; {
			if b[i] == ' ' {
				i++
				continue
			}
			hexToks = append(hexToks, token{v: unhex(b[i])<<4 | unhex(b[i+1]), start: i, end: i + 2})
			i += 2
			n++
		}
		if ae-as != n {
			// Not hex.Dump's own (a column of other characters): the hex
			// column still counts, the ASCII one cannot be lined up.
			ascToks = append(ascToks, make([]token, n)...)
			for k := len(ascToks) - n; k < len(ascToks); k++ {
				ascToks[k] = token{start: as, end: ae}
			}
			continue
		}
		for k := 0; k < n; k++ {
			ascToks = append(ascToks, token{start: as + k, end: as + k + 1})
		}
	}
	flush()
	return out
}

// mergeSpans sorts spans and joins those that overlap, so each byte is
// masked once.
func mergeSpans(s [][2]int) [][2]int {
	sort.Slice(s, func(i, j int) bool { return s[i][0] < s[j][0] || s[i][0] == s[j][0] && s[i][1] > s[j][1] })
	out := s[:0]
	for _, x := range s {
		if n := len(out); n > 0 && x[0] < out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], x[1])
			continue
		}
		out = append(out, x)
	}
	return out
}

// holdFrom is where, in buf up to and including its last line end at
// nl, a form that may continue on the next line begins: a trailing run of
// at least wrapHold base64 characters (with the lines of base64 before
// it), or a run of hex.Dump lines. It returns nl+1 when there is none.
func holdFrom(buf []byte, nl int) int {
	end := nl
	if end > 0 && buf[end-1] == '\r' {
		end--
	}
	start, n := wrappedBack(buf, end)
	for start < end && !isB64[buf[start]] {
		start++
	}
	hold := nl + 1
	if n >= wrapHold {
		hold = start
	}
	// hex.Dump lines at the end: hold them all.
	ls := nl
	for {
		prev := bytes.LastIndexByte(buf[:ls], '\n') + 1
		if !dumpLine.Match(buf[prev:ls]) {
			break
		}
		hold = min(hold, prev)
		if prev == 0 {
			break
		}
		ls = prev - 1
	}
	return hold
}
