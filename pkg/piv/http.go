package piv

import (
	"github.com/onsi/ginkgo/v2"

	"bytes"
	"context"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/piv-gate/piv/pkg/secret"
	"github.com/piv-gate/piv/pkg/target"
)

// maxBody bounds what a response keeps in memory and in failure messages.
const (
	maxBody    = 1 << 20
	excerptLen = 600
)

// Client is an HTTP client bound to the run's target: requests to the service
// URL go to the pinned node (or the service), with the service's host name in
// Host and SNI, the app's CA trusted, and X-PIV-Run on every request.
type Client struct {
	ctx    context.Context
	t      target.Target
	c      *http.Client
	header http.Header
}

// HTTP returns a client bound to the run's target for this spec. ctx is the
// spec's context (func(ctx SpecContext)), so a request stops when the spec's
// time is up.
func HTTP(ctx context.Context) *Client {
	r := mustCurrent()
	return &Client{ctx: ctx, t: r.Target, c: clientFor(r.Target), header: http.Header{}}
}

// clients keeps one client (one connection pool) per target for the run:
// journeys reuse warm connections, and pools never mix nodes.
var clients = map[string]*http.Client{}

func clientFor(t target.Target) *http.Client {
	curMu.Lock()
	defer curMu.Unlock()
	key := string(t.Scope) + "/" + t.Name + "/" + t.DialAddress()
	if c, ok := clients[key]; ok {
		return c
	}
	c := t.HTTPClient(nil)
	c.Timeout = timeouts.Default.SuiteRequest
	clients[key] = c
	return c
}

// WithHeader returns a client that adds a header to every request (an auth
// token captured from a login response). A secret's value is redacted from
// every output once read with piv.Secret, so passing s.Value() here is safe;
// a token captured at run time should be registered the same way
// (secret.Register) before it can appear in a failure.
func (c *Client) WithHeader(key, value string) *Client {
	n := *c
	n.header = c.header.Clone()
	n.header.Set(key, value)
	return &n
}

// WithBearer adds "Authorization: Bearer <token>" and registers the token for
// redaction: tokens are secrets too.
func (c *Client) WithBearer(token string) *Client {
	secret.Register(token)
	return c.WithHeader("Authorization", "Bearer "+token)
}

// Get fetches path (relative to the service URL).
func (c *Client) Get(path string) *Response {
	ginkgo.GinkgoHelper()
	return c.Do(http.MethodGet, path, "", nil)
}

// Delete deletes path.
func (c *Client) Delete(path string) *Response {
	ginkgo.GinkgoHelper()
	return c.Do(http.MethodDelete, path, "", nil)
}

// PostJSON posts a JSON body.
func (c *Client) PostJSON(path, body string) *Response {
	ginkgo.GinkgoHelper()
	return c.Do(http.MethodPost, path, "application/json", strings.NewReader(body))
}

// PutJSON puts a JSON body.
func (c *Client) PutJSON(path, body string) *Response {
	ginkgo.GinkgoHelper()
	return c.Do(http.MethodPut, path, "application/json", strings.NewReader(body))
}

// Do sends a request. A transport error (refused, TLS, timeout) fails the
// spec at once with what was tried and where: there is no response to assert
// on, and a nil would only move the failure somewhere less clear.
func (c *Client) Do(method, path, contentType string, body io.Reader) *Response {
	ginkgo.GinkgoHelper()
	url := c.t.URLFor(path)
	req, err := http.NewRequestWithContext(c.ctx, method, url, body)
	if err != nil {
		failf("%s %s: %v", method, path, err)
		return nil
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := c.c.Do(req)
	if err != nil {
		failf("%s %s on %s: no response: %s", method, url, c.t.Where(), secret.Redact(err.Error()))
		return nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		failf("%s %s on %s: reading the body: %v", method, url, c.t.Where(), err)
		return nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return &Response{Response: resp, Body: data, Method: method, Path: path, Where: c.t.Where(), Elapsed: time.Since(start)}
}

// Response is a whole response, body read, with what is needed to say where
// it came from in a failure message.
type Response struct {
	*http.Response
	Body    []byte
	Method  string
	Path    string
	Where   string // "node app-02 (127.0.0.3:8443)"
	Elapsed time.Duration
}

// JSON returns the value at a gjson path of the body (gjson.Result's
// .String(), .Int(), .Exists()).
func (r *Response) JSON(path string) gjson.Result { return gjson.GetBytes(r.Body, path) }

// Text is the body as a string.
func (r *Response) Text() string { return string(r.Body) }

// ServedBy is the X-Served-By header when the app sets one.
func (r *Response) ServedBy() string { return r.Header.Get("X-Served-By") }

// describe is the response's first line for failure messages.
func (r *Response) describe() string {
	return fmt.Sprintf("%s %s on %s", r.Method, r.Path, r.Where)
}

// excerpt is a redacted, bounded body for failure messages.
func excerpt(b []byte) string {
	s := secret.Redact(string(b))
	if len(s) > excerptLen {
		s = s[:excerptLen] + fmt.Sprintf("… (%d bytes)", len(b))
	}
	if strings.TrimSpace(s) == "" {
		return "(empty body)"
	}
	return s
}
