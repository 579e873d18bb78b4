package target

import (
	"net/url"
	"testing"
)

func TestSameOrigin(t *testing.T) {
	tg := Target{URL: &url.URL{Scheme: "https", Host: "quote.test:8443"}}
	dflt := Target{URL: &url.URL{Scheme: "https", Host: "quote.test"}}
	cases := []struct {
		t    Target
		u    string
		want bool
	}{
		{tg, "https://quote.test:8443/health", true},
		{tg, "https://QUOTE.test:8443/other?x=1", true},
		{tg, "https://quote.test:9443/health", false}, // another port of the host
		{tg, "http://quote.test:8443/health", false},  // plain HTTP on the same port
		{tg, "http://quote.test:8080/health", false},
		{tg, "https://quote.test/health", false}, // 443
		{tg, "https://other.test:8443/health", false},
		{dflt, "https://quote.test:443/health", true},
		{dflt, "https://quote.test/health", true},
		{dflt, "http://quote.test/health", false},
	}
	for _, c := range cases {
		u, err := url.Parse(c.u)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.t.SameOrigin(u); got != c.want {
			t.Errorf("%s SameOrigin(%s) = %v, want %v", c.t.URL, c.u, got, c.want)
		}
	}
}
