package regularfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadsARegularFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "gate.json")
	want := strings.Repeat("x", 200<<10) // larger than the first buffer
	os.WriteFile(p, []byte(want), 0o644)
	b, err := Read(p, 1<<20, nil)
	if err != nil || string(b) != want {
		t.Fatalf("read %d bytes, %v; want %d", len(b), err, len(want))
	}
}

// A FIFO returns at once (no writer ever comes), /dev/zero through a
// symlink is refused, a file over the bound is refused.
func TestRefusesWhatIsNotAGateJSON(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(fifo, 1<<20, nil); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "FIFO") {
		t.Fatalf("FIFO: %v", err)
	}
	zero := filepath.Join(dir, "zero")
	os.Symlink("/dev/zero", zero)
	if _, err := Read(zero, 1<<20, nil); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("/dev/zero: %v", err)
	}
	big := filepath.Join(dir, "big")
	f, _ := os.Create(big)
	f.Truncate(2 << 20) // sparse: no disk spent
	f.Close()
	if _, err := Read(big, 1<<20, nil); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("2 MiB file under a 1 MiB bound: %v", err)
	}
}
