//go:build unix && !linux

package serve

import "syscall"

// childAttr puts each gate in its own process group (see the Linux version).
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
