// Package jsondup finds duplicate object keys in a JSON document.
//
// RFC 8259 leaves an object with a repeated name undefined, and parsers
// disagree on it: gjson (what the checks read with) returns the first value,
// encoding/json and JSON.parse keep the last. A health answer
// {"status":"UP",…,"status":"DOWN"} therefore says UP to the gate and DOWN to
// the application's own clients. Such a document is not a valid answer, so
// judges reject it before reading any value out of it.
package jsondup

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Duplicate is a key that occurs twice in one object.
type Duplicate struct {
	Key string // the key, unescaped ("st\u0061tus" and "status" are the same key)
	// Path is the gjson path of the object holding it ("" for the top
	// level, "checks", "items.2"), as app definitions write paths.
	Path string
	// Offset is the byte offset just past the repeated key.
	Offset int64
}

func (d *Duplicate) Error() string {
	at := "the top level"
	if d.Path != "" {
		at = d.Path
	}
	return fmt.Sprintf("duplicate key %q at %s (byte %d)", d.Key, at, d.Offset)
}

// frame is one open object or array.
type frame struct {
	object    bool
	path      string
	keys      map[string]struct{}
	key       string // the key whose value comes next (objects)
	expectKey bool   // the next token is a key or '}' (objects)
	index     int    // the next element's index (arrays)
}

// Find walks doc token by token and returns the first key repeated within
// one object, at any depth, or nil when there is none. err is the decoder's
// error when doc is not a sequence of JSON values (callers check validity
// first; this is the detector's own account). Numbers are not converted, so
// no numeric value is an error here.
func Find(doc []byte) (*Duplicate, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if len(stack) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone(stack)
			continue
		}
		if top != nil && top.object && top.expectKey {
			key, _ := tok.(string) // the decoder only yields strings here
			if _, seen := top.keys[key]; seen {
				return &Duplicate{Key: key, Path: top.path, Offset: dec.InputOffset()}, nil
			}
			top.keys[key] = struct{}{}
			top.key, top.expectKey = key, false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, path: childPath(top), keys: map[string]struct{}{}, expectKey: true})
		case json.Delim('['):
			stack = append(stack, &frame{path: childPath(top)})
		default:
			valueDone(stack)
		}
	}
}

// valueDone records that the innermost open container got a whole value.
func valueDone(stack []*frame) {
	if len(stack) == 0 {
		return
	}
	top := stack[len(stack)-1]
	if top.object {
		top.expectKey = true
	} else {
		top.index++
	}
}

// childPath is the gjson path of the value that comes next in parent.
func childPath(parent *frame) string {
	if parent == nil {
		return ""
	}
	var part string
	if parent.object {
		part = escape(parent.key)
	} else {
		part = strconv.Itoa(parent.index)
	}
	if parent.path == "" {
		return part
	}
	return parent.path + "." + part
}

// escape backslash-escapes the characters gjson gives a meaning in a path.
func escape(key string) string {
	if !strings.ContainsAny(key, `.*?|#@\!=<>%`) {
		return key
	}
	var b strings.Builder
	for _, r := range key {
		if strings.ContainsRune(`.*?|#@\!=<>%`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
