package probe

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/tidwall/gjson"
)

// MaxBody caps how much of a response body a fact keeps. Health and version
// answers are small; the cap only stops a misbehaving endpoint from filling
// memory and reports.
const MaxBody = 256 << 10

// HTTPFact is one GET and what came back.
type HTTPFact struct {
	URL       string
	Status    int // 0 when no response arrived (see Err)
	Proto     string
	Header    http.Header
	Body      []byte // at most MaxBody bytes
	Truncated bool   // the body was longer than MaxBody and was cut
	Elapsed   time.Duration
	ServedBy  string // X-Served-By, which node answered, when the app says
	Err       string // transport failure; a 4xx/5xx status is a fact, not an Err
}

// HTTP sends GET url through client (use Target.HTTPClient so the request is
// pinned and trusted like every other) and reads the body, bounded by ctx.
// Elapsed covers the whole exchange including the body, since that is what a
// client waits for.
func HTTP(ctx context.Context, client *http.Client, url string) HTTPFact {
	f := HTTPFact{URL: url}
	start := time.Now()
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
	f.ServedBy = resp.Header.Get("X-Served-By")
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if len(body) > MaxBody {
		body, f.Truncated = body[:MaxBody], true
	}
	f.Body = body
	f.Elapsed = time.Since(start)
	if err != nil {
		f.Err = "reading body: " + reason(err, f.Elapsed)
	}
	return f
}

// JSON reads a gjson path ("status", "checks.db") from the body. A missing
// path or a non-JSON body gives a Result whose Exists() is false.
func (f HTTPFact) JSON(path string) gjson.Result {
	return gjson.GetBytes(f.Body, path)
}
