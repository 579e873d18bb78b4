package browser

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shortTempDir is a fresh $TMPDIR for the test, short enough for
// Chromium's socket paths (t.TempDir's names are too long: see maxRoot).
func shortTempDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("/tmp", "pv")
	if err != nil {
		t.Fatal(err)
	}
	if len(d) > maxRoot {
		t.Fatalf("%s is too long for the test", d)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	t.Setenv("TMPDIR", d)
	return d
}

func listDir(tb testing.TB, dir string) []string {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// browserRun launches a browser, shows a page from a pinned TLS node (so
// Chromium creates its temporary files and verifies a certificate) and
// returns the browser still running.
func browserRun(tb testing.TB) *Browser {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(tb, "leftovers test CA")
	addr := node(tb, "127.0.0.2", "app-01", ca, "quote.test")
	b, err := Launch(ctx, Options{CAs: [][]byte{ca.CertPEM}})
	if err != nil {
		tb.Fatalf("Launch: %v", err)
	}
	tg := pinned(tb, "app-01", addr, ca)
	p, done, err := b.Page(ctx, tg, ca.CertPEM)
	if err != nil {
		b.Close()
		tb.Fatal(err)
	}
	defer done()
	if err := Navigate(ctx, p, tg.URLFor("/login")); err != nil {
		b.Close()
		tb.Fatal(err)
	}
	return b
}

// A normal run leaves nothing in $TMPDIR: not its profile, not Chromium's
// org.chromium.Chromium.* folders (which go to the browser's own TMPDIR,
// inside the profile folder).
func TestNormalRunLeavesNothingInTMPDIR(t *testing.T) {
	tmp := shortTempDir(t)
	b := browserRun(t)
	during := listDir(t, tmp)
	if len(during) != 1 || !strings.HasPrefix(during[0], profilePrefix) {
		t.Errorf("while running, $TMPDIR holds %v; want only the browser's own folder", during)
	}
	if chromium, _ := filepath.Glob(filepath.Join(browserTmp(b.UserDataDir()), "org.chromium.Chromium.*")); len(chromium) == 0 {
		t.Logf("note: Chromium made no temporary folder of its own this run")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if left := listDir(t, tmp); len(left) != 0 {
		t.Fatalf("after Close, $TMPDIR holds %v", left)
	}
}

// TestHelperKilledBrowser is not a test: TestKilledRunIsSweptByTheNext runs
// the test binary with it to have a process that owns a browser and is
// then SIGKILLed.
func TestHelperKilledBrowser(t *testing.T) {
	if os.Getenv("PIV_TEST_HELPER_BROWSER") != "1" {
		t.Skip("helper process")
	}
	b := browserRun(t)
	fmt.Printf("DIR %s PID %d\n", b.UserDataDir(), b.PID())
	time.Sleep(testBound) // until killed; bounded if the parent dies
}

// A SIGKILLed piv cannot clean up: its browser dies with it (Pdeathsig) but
// its folder stays. The next run sweeps it, and leaves nothing itself.
func TestKilledRunIsSweptByTheNext(t *testing.T) {
	tmp := shortTempDir(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperKilledBrowser$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PIV_TEST_HELPER_BROWSER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "DIR ") {
				line <- sc.Text()
				return
			}
		}
		close(line)
	}()
	var dir string
	var pid int
	select {
	case l, ok := <-line:
		if !ok {
			t.Fatal("helper exited without launching a browser")
		}
		fmt.Sscanf(l, "DIR %s PID %d", &dir, &pid)
	case <-time.After(testBound):
		t.Fatal("helper did not launch a browser")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	// The browser dies with its parent; wait for it (bounded).
	for i := 0; i < 500 && alive(pid); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if alive(pid) {
		t.Fatalf("browser %d outlived the SIGKILLed piv", pid)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the killed run's folder %s is already gone (%v): the test shows nothing", dir, err)
	}
	if left := listDir(t, tmp); len(left) != 1 {
		t.Fatalf("after SIGKILL, $TMPDIR holds %v; want the killed run's folder", left)
	}

	b := browserRun(t)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the next run did not sweep %s: %v", dir, err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if left := listDir(t, tmp); len(left) != 0 {
		t.Fatalf("after the next run, $TMPDIR holds %v", left)
	}
	if procs := processesMentioning(dir); len(procs) != 0 {
		t.Errorf("processes of the killed run still running: %v", procs)
	}
}

// A folder whose owner is alive is never swept, even by a process that is
// not its owner.
func TestSweepSparesLiveOwners(t *testing.T) {
	tmp := shortTempDir(t)
	dir, err := newProfileDir()
	if err != nil {
		t.Fatal(err)
	}
	defer removeProfileDir(dir)
	// Pretend to be another process: forget that the folder is ours.
	locksMu.Lock()
	f := locks[dir]
	delete(locks, dir)
	locksMu.Unlock()
	sweepProfiles(tmp)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a live owner's folder was swept: %v", err)
	}
	// Once the owner is gone (its lock released), it is.
	f.Close()
	sweepProfiles(tmp)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("a dead owner's folder was kept: %v", err)
	}
}

// A $TMPDIR too long for Chromium's socket paths does not stop the
// browser: its folder goes to /tmp instead, and is removed as well.
func TestLongTMPDIRStillLaunches(t *testing.T) {
	long := t.TempDir() // /tmp/TestLongTMPDIRStillLaunches…/001: too long
	if len(long) <= maxRoot {
		t.Skipf("%s is short enough: nothing to show", long)
	}
	t.Setenv("TMPDIR", long)
	b := browserRun(t)
	dir := b.UserDataDir()
	if filepath.Dir(dir) != "/tmp" {
		t.Errorf("browser folder %s, want it in /tmp", dir)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left behind: %v", dir, err)
	}
	if left := listDir(t, long); len(left) != 0 {
		t.Errorf("$TMPDIR holds %v", left)
	}
}
