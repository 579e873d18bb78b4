package secret

import (
	"bytes"
	"io"
	"sync"
)

// Stream redacts a byte stream rather than each write: a secret written in
// two calls (Printf("%s", s[:3]); Printf("%s", s[3:])) is still found. It
// holds back the shortest tail that could be the beginning of a secret (in
// any of its forms): never more than the longest form's length minus one
// byte; after a line end, when no secret contains one, nothing — unless
// the line may go on as a decoded form on the next (it ends in wrapHold
// base64 characters or more, or is a hex.Dump line: decoded.go); and
// nothing after a byte no form can start with (letters, digits and
// base64's +/=-_ all can: a word at the end of an unfinished line waits
// for the line end). Flush (or Close) at the end of the output writes what
// is held back, redacted, so nothing is lost.
//
// Stream is safe for concurrent use; writes are redacted in the order they
// are made.
type Stream struct {
	mu     sync.Mutex
	w      io.Writer
	buf    []byte
	closed bool
}

// NewStream returns a Stream writing to w.
func NewStream(w io.Writer) *Stream { return &Stream{w: w} }

// Write takes p and writes on whatever of the stream so far can no longer
// become part of a secret. It reports len(p) unless w failed.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = append(s.buf, p...)
	m := current()
	if s.closed || m.anchored == nil {
		// Nothing to hold back for: after Close (a late write from a spec's
		// goroutine must not be lost) or with no secret registered.
		return len(p), s.emit(m, len(s.buf))
	}
	return len(p), s.emit(m, m.safeCut(s.buf))
}

// safeCut is the length of the prefix of buf that no future bytes can
// change the redaction of.
func (m *matcher) safeCut(buf []byte) int {
	// A match starting before len-(maxLen-1) ends within buf.
	cut := max(0, len(buf)-(m.maxLen-1))
	if !m.newline {
		// No form spans a line end: everything up to the last one is final.
		// Except a line a decoded form may go on from (wrapped base64,
		// hex.Dump): held back from where that form may begin.
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			cut = max(cut, holdFrom(buf, i))
		}
	}
	// Bytes no form starts with cannot begin a match.
	for cut < len(buf) && !m.streamStarts[buf[cut]] {
		cut++
	}
	return cut
}

// emit writes buf[:cut] redacted (extended to the end of a match that
// begins before cut) and keeps the rest.
func (s *Stream) emit(m *matcher, cut int) error {
	if cut == 0 {
		return nil
	}
	var out []byte
	if m.anchored == nil {
		out = s.buf[:cut]
	} else {
		pos := 0
		for _, loc := range m.findAll(s.buf) {
			if loc[0] >= cut {
				break
			}
			out = append(out, s.buf[pos:loc[0]]...)
			out = append(out, Mask...)
			pos = loc[1]
			cut = max(cut, loc[1])
		}
		out = append(out, s.buf[pos:cut]...)
	}
	rest := copy(s.buf, s.buf[cut:])
	s.buf = s.buf[:rest]
	if len(out) == 0 {
		return nil
	}
	_, err := s.w.Write(out)
	return err
}

// Flush writes everything held back, redacted.
func (s *Stream) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.emit(current(), len(s.buf))
}

// Close flushes; later writes are redacted one at a time and passed on at
// once (a goroutine a spec left running may still print).
func (s *Stream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.emit(current(), len(s.buf))
}

// Writer redacts each write on its own, for writers whose every message is
// a single write (a line of progress). Prefer Stream: a secret split across
// writes passes Writer.
type Writer struct{ W io.Writer }

func (w Writer) Write(p []byte) (int, error) {
	if _, err := w.W.Write(RedactBytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
