package serve

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/piv-gate/piv/pkg/jsondup"
)

// dupKey reports the first object key that appears twice in the same JSON
// object, at any depth (pkg/jsondup). encoding/json keeps the last of them,
// so {"node":"down","node":"n1"} would run n1 while a proxy, a log or a
// reviewer reading the first key sees "down": one request must mean one
// thing to everyone who reads it. Malformed JSON is left to the decoder
// that follows, which says why.
func dupKey(body []byte) error {
	if d, _ := jsondup.Find(body); d != nil {
		return fmt.Errorf("%v: a request must say each thing once", d)
	}
	return nil
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
