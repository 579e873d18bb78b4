package config

import (
	"strings"
	"testing"
)

func TestRemediationExposureKey(t *testing.T) {
	base := "app: quote\nservice: { url: https://quote.test:8443 }\nnodes: [ { name: app-01, address: 127.0.0.2 } ]\n"
	a, err := Parse("quote.yaml", []byte(base+"exposure: internal\n"))
	if err != nil || a.Exposure != "internal" {
		t.Fatalf("exposure internal: %v %+v", err, a)
	}
	_, err = Parse("quote.yaml", []byte(base+"exposure: public\n"))
	if err == nil || !strings.Contains(err.Error(), `quote.yaml:4: exposure: "public": want external or internal`) {
		t.Fatalf("bad exposure: %v", err)
	}
}
