package browser

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A launched browser's files all live in one folder piv owns: the profile
// (user-data-dir), the HOME holding the NSS database of trusted CAs, and
// the browser's TMPDIR. Chromium puts temporary files of its own in
// $TMPDIR (the org.chromium.Chromium.XXXXXX folders, shared memory under
// --disable-dev-shm-usage), which it never removes when it is killed, so
// TMPDIR points inside the folder too: removing the folder on Close
// leaves nothing behind.
//
// When piv itself is killed (SIGKILL, OOM) Close never runs. Each folder
// therefore carries a lock file, held (flock) by the piv process that owns
// it for as long as it lives; the kernel releases it when that process
// dies, however it dies. Every Launch sweeps folders whose lock is free:
// their owner is gone. Unlike a pid in the name, a lock cannot be fooled by
// pid reuse or by another pid namespace sharing the same /tmp.

// profilePrefix starts every browser folder's name in os.TempDir(), followed
// by the owner's pid (for people reading /tmp) and a random suffix.
const profilePrefix = "piv-chromium-"

// profileLock is the lock file inside a browser folder.
const profileLock = ".piv-owner.lock"

// sweepGrace: a folder without a lock file is left alone this long, as it
// may be one another piv is creating this very moment.
const sweepGrace = time.Minute

var (
	locksMu sync.Mutex
	locks   = map[string]*os.File{} // browser folder -> its held lock
)

// maxRoot bounds the length of the folder browser folders are made in.
// Chromium's process-singleton socket lives in its TMPDIR, at
// <root>/piv-chromium-<pid>-<random>/tmp/org.chromium.Chromium.XXXXXX/SingletonSocket,
// and a Unix socket path has at most 107 bytes: with a longer root
// Chromium exits at start ("Socket path too long").
const maxRoot = 107 - len("/piv-chromium-4194304-4294967295/tmp/org.chromium.Chromium.XXXXXX/SingletonSocket")

// profileRoot is where browser folders are made: os.TempDir(), or /tmp
// when that path is too long for Chromium (see maxRoot).
func profileRoot() string {
	root := os.TempDir()
	if len(root) > maxRoot {
		if st, err := os.Stat("/tmp"); err == nil && st.IsDir() {
			return "/tmp"
		}
	}
	return root
}

// newProfileDir sweeps what killed runs left behind and creates this
// browser's folder, locked, with its tmp subfolder.
func newProfileDir() (string, error) {
	root := profileRoot()
	sweepProfiles(root)
	if t := os.TempDir(); t != root {
		sweepProfiles(t)
	}
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%s%d-", profilePrefix, os.Getpid()))
	if err != nil {
		return "", fmt.Errorf("browser: temp dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, profileLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
		}
	}
	if err == nil {
		err = os.Mkdir(filepath.Join(dir, "tmp"), 0o700)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("browser: temp dir: %w", err)
	}
	locksMu.Lock()
	locks[dir] = f
	locksMu.Unlock()
	return dir, nil
}

// browserTmp is the TMPDIR given to the browser of folder dir.
func browserTmp(dir string) string { return filepath.Join(dir, "tmp") }

// removeProfileDir removes a browser folder (the browser is already dead)
// and releases its lock.
func removeProfileDir(dir string) error {
	err := os.RemoveAll(dir)
	locksMu.Lock()
	f := locks[dir]
	delete(locks, dir)
	locksMu.Unlock()
	if f != nil {
		f.Close()
	}
	return err
}

// sweepProfiles removes browser folders under root whose owner is gone,
// after killing any process still using one (a crashpad handler that
// outlived its browser). Errors are ignored: a folder that cannot be
// removed now is tried again by the next run.
func sweepProfiles(root string) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), profilePrefix) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		locksMu.Lock()
		_, mine := locks[dir]
		locksMu.Unlock()
		if mine || ownerAlive(dir) {
			continue
		}
		killStragglers(dir)
		_ = os.RemoveAll(dir)
	}
}

// ownerAlive reports whether a piv process still holds dir's lock (or may
// be about to: a young folder without one).
func ownerAlive(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, profileLock), os.O_RDWR, 0)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return true // not ours to judge (another user's folder)
		}
		st, err := os.Stat(dir)
		return err != nil || time.Since(st.ModTime()) < sweepGrace
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return true // held: the owner lives
	}
	// Ours for a moment; the folder goes, and the lock with it on Close.
	return false
}
