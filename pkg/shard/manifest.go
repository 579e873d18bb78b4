package shard

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/piv-gate/piv/pkg/regularfile"
	"github.com/piv-gate/piv/pkg/report"
)

// ManifestSchema identifies a shard manifest.
const ManifestSchema = "piv.shard/v1"

// Manifest is what a shard was given to run, written next to its reports
// before any app starts. piv merge reads it to tell an empty shard (nothing
// to run: fine) from a lost one (no report: inconclusive), and an app that
// was due but left no gate.json (crashed, killed) from one never assigned.
type Manifest struct {
	Schema    string    `json:"schema"`
	Shard     string    `json:"shard"` // "K/N"
	K         int       `json:"k"`
	N         int       `json:"n"`
	Apps      []string  `json:"apps"` // this shard's apps, never null
	AllApps   int       `json:"allApps"`
	StartedAt time.Time `json:"startedAt"`
}

// FileName is the manifest's name in the reports folder: one per shard, so
// shards sharing one volume do not overwrite each other's.
func FileName(s Spec) string { return fmt.Sprintf("shard-%d-of-%d.json", s.K, s.N) }

// WriteManifest writes dir/shard-K-of-N.json atomically.
func WriteManifest(dir string, s Spec, apps []string, allApps int, now time.Time) (string, error) {
	if apps == nil {
		apps = []string{}
	}
	m := Manifest{Schema: ManifestSchema, Shard: s.String(), K: s.K, N: s.N, Apps: apps, AllApps: allApps, StartedAt: now.UTC()}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, FileName(s))
	if err := report.WriteFileAtomic(p, append(b, '\n')); err != nil {
		return "", err
	}
	return p, nil
}

// ReadManifest reads one manifest; ok is false when the file is not one
// (another JSON document that happens to share the name pattern).
func ReadManifest(path string) (m Manifest, ok bool, err error) {
	// A manifest is a few hundred bytes; a FIFO or /dev/zero under its
	// name must not hang or exhaust piv merge.
	b, err := regularfile.Read(path, 1<<20, nil)
	if err != nil {
		return m, false, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, false, fmt.Errorf("%s: %v", path, err)
	}
	return m, m.Schema == ManifestSchema, nil
}
