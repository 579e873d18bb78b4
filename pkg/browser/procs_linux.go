package browser

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// killStragglers kills processes whose command line mentions dir, the
// browser's own temporary directory, so only this browser's processes match.
// Chromium's crashpad handlers double-fork out of the browser's process
// group (killing the group misses them); they would exit by themselves
// eventually, but Close promises nothing is left behind when it returns.
func killStragglers(dir string) {
	if dir == "" {
		return
	}
	self := os.Getpid()
	var pids []int
	for _, pid := range processesWith(dir) {
		if pid != self {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			pids = append(pids, pid)
		}
	}
	// SIGKILL is asynchronous: wait (bounded) until each is dead (gone or a
	// zombie waiting for its reaper), so callers can rely on the result.
	deadline := time.Now().Add(CloseTimeout)
	for _, pid := range pids {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// processesWith lists the pids whose command line contains s.
func processesWith(s string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(st, ')')
	if i < 0 || i+2 >= len(st) {
		return false
	}
	return st[i+2] != 'Z'
}

// sysProcAttr puts the browser in its own process group, so Close can kill
// renderers and helpers too, and asks the kernel to kill it if piv dies
// (Pdeathsig), so a killed gate leaves no browser running.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
