package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
)

// dupKey reports the first object key that appears twice in the same JSON
// object, at any depth. encoding/json keeps the last of them, so
// {"node":"down","node":"n1"} would run n1 while a proxy, a log or a
// reviewer reading the first key sees "down": one request must mean one
// thing to everyone who reads it.
func dupKey(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		obj    bool
		keys   map[string]bool
		expect bool // in an object: the next string token is a key
		path   string
		last   string // the key whose value is being read
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return nil // malformed JSON: the decoder that follows says why
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.expect {
			if k, ok := tok.(string); ok {
				if top.keys[k] {
					return fmt.Errorf("duplicate key %q in %s: a request must say each thing once", k, top.path)
				}
				top.keys[k] = true
				top.expect, top.last = false, k
				continue
			}
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			path := "$"
			switch {
			case top != nil && top.obj:
				path = top.path + "." + top.last
			case top != nil:
				path = top.path + "[]"
			}
			stack = append(stack, &frame{obj: tok == json.Delim('{'), keys: map[string]bool{}, expect: true, path: path})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended (scalar, or a closed object/array): the parent
		// object now expects its next key.
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].expect = true
		}
	}
}

// jsonContent: POSTs must say Content-Type application/json. A browser
// sends text/plain (or a form type) cross-site without a preflight; only
// application/json needs the CORS preflight piv serve never answers, so
// this alone keeps a web page from starting gates.
func jsonContent(r *http.Request) *RequestError {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &RequestError{Status: http.StatusUnsupportedMediaType, Msg: fmt.Sprintf("Content-Type %q: send application/json", ct)}
	}
	return nil
}

// localOnly guards a server without a token (--insecure-no-auth, loopback
// only): the Host must be a loopback name or address, so a page whose DNS
// name was rebound to 127.0.0.1 cannot reach it under its own name, and a
// request must carry no Origin header, which every browser adds to
// cross-origin requests (and to same-origin POSTs): piv's callers are
// programs, not pages.
func localOnly(r *http.Request) *RequestError {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	ip := net.ParseIP(host)
	if !(strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()) {
		return &RequestError{Status: http.StatusForbidden, Msg: fmt.Sprintf("Host %q: without a token piv serve answers only a loopback Host (127.0.0.1, ::1, localhost)", r.Host)}
	}
	if _, ok := r.Header["Origin"]; ok {
		return &RequestError{Status: http.StatusForbidden, Msg: "a request with an Origin header (a web page's): without a token piv serve answers programs only"}
	}
	return nil
}
