package remediation

import (
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	debversion "pault.ag/go/debian/version"
)

// Version schemes. Each compares as its ecosystem does, through a library
// that ecosystem's tools agree with, never by string or by a home-made
// parser:
//
//   - semver: github.com/Masterminds/semver/v3 (the constraint syntax of
//     Helm and Composer: ">= 3.0.15", "~1.2", "^2", ranges with ","/"||";
//     build metadata such as +ds is ignored in comparisons, as SemVer 2.0
//     says, and pre-releases never satisfy a plain constraint).
//   - debian: pault.ag/go/debian/version (dpkg's algorithm: epochs
//     "1:3.0.11", revisions "-1~deb12u2", "~" sorting before everything,
//     "+ds" repacks sorting after the upstream version).
const (
	SchemeSemver = "semver"
	SchemeDebian = "debian"
)

// Constraint is a parsed version constraint in one scheme.
type Constraint struct {
	Scheme string
	Text   string
	sem    *semver.Constraints
	deb    []debClause
}

type debClause struct {
	op string // dpkg's relations: << <= = >= >>
	v  debversion.Version
}

// ParseConstraint parses text in scheme.
func ParseConstraint(scheme, text string) (*Constraint, error) {
	c := &Constraint{Scheme: scheme, Text: text}
	switch scheme {
	case SchemeSemver:
		k, err := semver.NewConstraint(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not a semver constraint (%v); for a Debian package version set scheme: debian", text, err)
		}
		c.sem = k
	case SchemeDebian:
		for _, part := range strings.Split(text, ",") {
			part = strings.TrimSpace(part)
			op := ""
			for _, o := range []string{"<<", "<=", ">=", ">>", "=", "<", ">"} {
				if strings.HasPrefix(part, o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, fmt.Errorf("%q: want a dpkg relation and a version, e.g. \">= 1:3.0.11-1~deb12u3\" (relations: << <= = >= >>)", text)
			}
			vs := strings.TrimSpace(strings.TrimPrefix(part, op))
			v, err := debversion.Parse(vs)
			if err != nil || vs == "" {
				return nil, fmt.Errorf("%q: %q is not a Debian version: %v", text, vs, err)
			}
			// dpkg reads a bare < and > as <= and >= (deprecated); say what we do.
			switch op {
			case "<":
				op = "<="
			case ">":
				op = ">="
			}
			c.deb = append(c.deb, debClause{op: op, v: v})
		}
	default:
		return nil, fmt.Errorf("scheme %q: want semver or debian", scheme)
	}
	return c, nil
}

// Check reports whether the version seen satisfies the constraint. An error
// means the seen version cannot be read in this scheme: that is not "fixed".
func (c *Constraint) Check(seen string) (bool, error) {
	seen = strings.TrimSpace(seen)
	if seen == "" {
		return false, fmt.Errorf("no version reported")
	}
	switch c.Scheme {
	case SchemeSemver:
		v, err := semver.NewVersion(seen)
		if err != nil {
			return false, fmt.Errorf("%q is not a semver version: %v", seen, err)
		}
		return c.sem.Check(v), nil
	case SchemeDebian:
		v, err := debversion.Parse(seen)
		if err != nil {
			return false, fmt.Errorf("%q is not a Debian version: %v", seen, err)
		}
		for _, cl := range c.deb {
			n := debversion.Compare(v, cl.v)
			ok := false
			switch cl.op {
			case "<<":
				ok = n < 0
			case "<=":
				ok = n <= 0
			case "=":
				ok = n == 0
			case ">=":
				ok = n >= 0
			case ">>":
				ok = n > 0
			}
			if !ok {
				return false, nil
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown scheme %q", c.Scheme)
}
