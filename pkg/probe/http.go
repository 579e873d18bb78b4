package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/tidwall/gjson"
)

// MaxBody bounds how much of a response body a probe reads. Health and
// version answers are small; a body longer than this is not judged on its
// first MaxBody bytes (a never-ending /health would pass that way) but
// reported as too large: Truncated, and Incomplete says so.
const MaxBody = 256 << 10

// HTTPFact is one GET and what came back.
type HTTPFact struct {
	URL string // as requested
	// FinalURL is where the answer came from when redirects on the
	// target's origin were followed to it ("" when none was).
	FinalURL  string
	Redirects int // redirects followed
	// Redirect is the Location (made absolute) of a redirect the client
	// did not follow: Target.HTTPClient follows only the target's own
	// scheme, host and port. The 3xx is then the answer recorded, and
	// Incomplete refuses it: what the target says lives elsewhere.
	Redirect    string
	Status      int // 0 when no response arrived (see Err)
	Proto       string
	Header      http.Header
	ContentType string // the Content-Type header as sent, "" when absent
	// Body is what was read: the whole body when Complete, otherwise the
	// part read before the bound or the failure (evidence, never judged).
	Body []byte
	// Complete is true only when the whole body was read, within MaxBody,
	// before the exchange deadline.
	Complete  bool
	Truncated bool   // the body was longer than MaxBody; reading stopped there
	BodyErr   string // the body read failed midway: "timed out after 10s", "connection closed by server"
	Elapsed   time.Duration
	ServedBy  string // X-Served-By, which node answered, when the app says
	Err       string // no response at all; a 4xx/5xx status is a fact, not an Err
}

// HTTP is HTTPWithin with DefaultTimeouts.Exchange.
func HTTP(ctx context.Context, client *http.Client, url string) HTTPFact {
	return HTTPWithin(ctx, client, url, DefaultTimeouts.Exchange)
}

// HTTPWithin sends GET url through client (use Target.HTTPClient so the
// request is pinned and trusted like every other) and reads the body, all
// within exchange (and ctx): the deadline covers the body read, so a server
// that sends headers and then trickles bytes ends as a BodyErr after
// exchange, not when the run's deadline ends. Elapsed covers the whole
// exchange including the body, since that is what a client waits for.
func HTTPWithin(ctx context.Context, client *http.Client, url string, exchange time.Duration) HTTPFact {
	f := HTTPFact{URL: url}
	start := time.Now()
	if exchange > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, exchange)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		f.Err = reason(err, 0)
		return f
	}
	resp, err := client.Do(req)
	if err != nil {
		f.Elapsed = time.Since(start)
		f.Err = reason(err, f.Elapsed)
		return f
	}
	defer resp.Body.Close()
	f.Status, f.Proto, f.Header = resp.StatusCode, resp.Proto, resp.Header
	f.ContentType = resp.Header.Get("Content-Type")
	f.ServedBy = resp.Header.Get("X-Served-By")
	if final := resp.Request.URL.String(); final != url {
		f.FinalURL = final
	}
	for r := resp.Request; r != nil && r.Response != nil; r = r.Response.Request {
		f.Redirects++
	}
	if isRedirect(resp.StatusCode) {
		// net/http returns a redirect status with a Location only when
		// CheckRedirect refused to follow it.
		if loc, err := resp.Location(); err == nil {
			f.Redirect = loc.String()
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	f.Elapsed = time.Since(start)
	switch {
	case len(body) > MaxBody:
		// Reading stops at the bound: a never-ending body costs MaxBody
		// bytes, and the answer is reported as too large, not judged.
		f.Body, f.Truncated = body[:MaxBody], true
	case err != nil:
		f.Body = body
		f.BodyErr = bodyReason(err, f.Elapsed)
	default:
		f.Body, f.Complete = body, true
	}
	return f
}

// isRedirect is the statuses net/http follows when they carry a Location.
func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// bodyReason is reason for a failed body read. net/http reports a deadline
// that ends mid-body as context.DeadlineExceeded or a wrapped "context
// deadline exceeded" depending on where it struck; both are timeouts.
func bodyReason(err error, elapsed time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out after " + round(elapsed).String()
	}
	return reason(err, elapsed)
}

// Incomplete says why f is not a whole answer that can be judged ("" when it
// is): no response, a redirect off the target that was not followed, a body
// over MaxBody, or a body cut short. Judges check it before anything else,
// so nothing is ever judged on part of a body, nor on a redirect's page.
func (f HTTPFact) Incomplete() string {
	switch {
	case f.Err != "":
		return "no answer: " + f.Err
	case f.Redirect != "":
		return fmt.Sprintf("redirected to %s (status %d), not followed: a probe follows redirects only on the target's own scheme, host and port (%s)", f.Redirect, f.Status, origin(f.URL))
	case f.Truncated:
		return fmt.Sprintf("body exceeds %d bytes", MaxBody)
	case f.BodyErr != "":
		return fmt.Sprintf("body incomplete after %d bytes: %s", len(f.Body), f.BodyErr)
	case !f.Complete:
		return "body not read"
	}
	return ""
}

// origin is scheme://host:port of rawURL, for messages.
func origin(rawURL string) string {
	u, err := neturl.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Scheme + "://" + u.Host
}

// JSON reads a gjson path ("status", "checks.db") from the body. A missing
// path or a non-JSON body gives a Result whose Exists() is false. It does
// not check that the body is JSON at all, nor that the path names one value
// (a repeated key gives the first): judges do (verify), first.
func (f HTTPFact) JSON(path string) gjson.Result {
	return gjson.GetBytes(f.Body, path)
}
