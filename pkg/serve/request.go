package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Gate is one gate asked for over HTTP: the same choices as `piv run APP
// --node NAME | --service --expect-version V --label-filter EXPR
// --remediation FILE` (or --fleet). Scope is "node" (Node set), "service"
// or "fleet" (Node empty).
type Gate struct {
	App, Node, Scope                        string
	ExpectVersion, LabelFilter, Remediation string
}

// Target is the gate's target as the metrics and the per-target lock name
// it: the node's name, "service" or "fleet".
func (g Gate) Target() string {
	if g.Scope == "node" {
		return g.Node
	}
	return g.Scope
}

// RequestError is a request refused before any gate ran: Status is the HTTP
// status, Msg says why in words a deployer can act on.
type RequestError struct {
	Status int
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, a ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, a...)}
}

// NotFound is what a Check function returns for an unknown app, node or
// remediation record (HTTP 404).
func NotFound(msg string) error { return &RequestError{Status: http.StatusNotFound, Msg: msg} }

// Usage is what a Check function returns for any other usage error that
// `piv run` would exit 2 on (HTTP 400).
func Usage(msg string) error { return &RequestError{Status: http.StatusBadRequest, Msg: msg} }

// name is what an app or node name may look like. They become arguments of
// the child `piv run`; a leading '-' would turn a name into a flag.
var name = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// gateFields are the keys of POST /v1/gates.
var gateFields = []string{"app", "node", "scope", "expectVersion", "labelFilter", "remediation"}

// parseGateBody reads POST /v1/gates' body: one JSON object whose values are
// all strings. Unknown keys are errors (a typo such as "expectedVersion"
// would otherwise drop the version check), so are null, non-strings and
// empty strings: an empty "node" is a mistake in the caller's template, not
// a request for a service gate.
func parseGateBody(body []byte) (Gate, *RequestError) {
	if err := dupKey(body); err != nil {
		return Gate{}, badRequest("%v", err)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&raw); err != nil {
		return Gate{}, badRequest("malformed JSON body: %v (want an object such as {\"app\":\"quote\",\"node\":\"app-02\",\"expectVersion\":\"2.4.1\"})", err)
	}
	if raw == nil {
		return Gate{}, badRequest("malformed JSON body: want an object, got null")
	}
	if dec.More() {
		return Gate{}, badRequest("malformed JSON body: more than one JSON value")
	}
	fields := map[string]string{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		if !contains(gateFields, k) {
			return Gate{}, badRequest("unknown field %q (fields: %s)", k, strings.Join(gateFields, ", "))
		}
		var s string
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) || json.Unmarshal(v, &s) != nil {
			return Gate{}, badRequest("field %q must be a string", k)
		}
		fields[k] = s
	}
	return gateFrom(fields, "field")
}

// flaggerBody is Flagger's webhook payload (CanaryWebhookPayload). Fields
// Flagger may add in later versions are ignored; metadata is the part piv
// reads.
type flaggerBody struct {
	Name      string             `json:"name"`
	Namespace string             `json:"namespace"`
	Phase     string             `json:"phase"`
	Checksum  string             `json:"checksum"`
	Metadata  *map[string]string `json:"metadata"`
}

// flaggerFields maps Flagger's metadata keys to the gate's fields.
var flaggerFields = map[string]string{
	"app": "app", "node": "node", "scope": "scope", "version": "expectVersion",
	"labelFilter": "labelFilter", "remediation": "remediation",
}

// parseFlaggerBody reads Flagger's webhook payload; metadata carries app,
// node (or scope: service), version, and optionally labelFilter and
// remediation. With tokenKey set, metadata[tokenKey] is the caller's token
// (Flagger cannot send headers) and is returned apart, never as a field.
func parseFlaggerBody(body []byte, tokenKey string) (Gate, flaggerBody, string, *RequestError) {
	var fb flaggerBody
	if err := dupKey(body); err != nil {
		return Gate{}, fb, "", badRequest("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fb); err != nil {
		return Gate{}, fb, "", badRequest("malformed JSON body: %v (want Flagger's webhook payload: name, namespace, phase, metadata)", err)
	}
	if dec.More() {
		return Gate{}, fb, "", badRequest("malformed JSON body: more than one JSON value")
	}
	if fb.Metadata == nil {
		return Gate{}, fb, "", badRequest("Flagger payload has no metadata: set the webhook's metadata to app, node (or scope: service) and version")
	}
	fields := map[string]string{}
	token := ""
	var known []string
	for k := range flaggerFields {
		known = append(known, k)
	}
	sort.Strings(known)
	// Sorted, so the same payload always gets the same message.
	keys := make([]string, 0, len(*fb.Metadata))
	for k := range *fb.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := (*fb.Metadata)[k]
		if tokenKey != "" && k == tokenKey {
			token = v
			continue
		}
		f, ok := flaggerFields[k]
		if !ok {
			return Gate{}, fb, "", badRequest("unknown metadata key %q (keys: %s)", k, strings.Join(known, ", "))
		}
		fields[f] = v
	}
	g, err := gateFrom(fields, "metadata key")
	if err != nil {
		// Name Flagger's own key in the message.
		err.Msg = strings.Replace(err.Msg, `"expectVersion"`, `"version"`, 1)
	}
	return g, fb, token, err
}

// gateFrom checks the fields shared by both endpoints.
func gateFrom(f map[string]string, what string) (Gate, *RequestError) {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := f[k]
		if v == "" {
			return Gate{}, badRequest("%s %q is empty: leave it out or give a value", what, k)
		}
		if strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return Gate{}, badRequest("%s %q contains control characters", what, k)
		}
		if len(v) > 1024 {
			return Gate{}, badRequest("%s %q is longer than 1024 bytes", what, k)
		}
	}
	g := Gate{App: f["app"], Node: f["node"], ExpectVersion: f["expectVersion"], LabelFilter: f["labelFilter"], Remediation: f["remediation"]}
	if _, ok := f["app"]; !ok {
		return Gate{}, badRequest("%s \"app\" is required", what)
	}
	if !name.MatchString(g.App) {
		return Gate{}, badRequest("app %q is not an app name (letters, digits, '.', '_', '-')", g.App)
	}
	scope, hasScope := f["scope"]
	_, hasNode := f["node"]
	switch {
	case hasNode:
		if hasScope && scope != "node" {
			return Gate{}, badRequest("node %q with scope %q: a node gate has scope node (or leave scope out)", g.Node, scope)
		}
		if !name.MatchString(g.Node) {
			return Gate{}, badRequest("node %q is not a node name (letters, digits, '.', '_', '-')", g.Node)
		}
		g.Scope = "node"
	case hasScope && (scope == "service" || scope == "fleet"):
		g.Scope = scope
	case hasScope && scope == "node":
		return Gate{}, badRequest("scope node needs %s \"node\"", what)
	case hasScope:
		return Gate{}, badRequest("scope %q: want service or fleet (or give node)", scope)
	default:
		return Gate{}, badRequest("say which target: %s \"node\" (one node), or \"scope\": \"service\" (the whole service) or \"fleet\" (every node and the service)", what)
	}
	if g.Remediation != "" && (strings.ContainsAny(g.Remediation, `/\`) || g.Remediation == "." || g.Remediation == "..") {
		return Gate{}, badRequest("remediation %q: give the record's file name in the server's --remediations folder, not a path", g.Remediation)
	}
	return g, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
