//go:build !linux

package browser

import "syscall"

func killStragglers(string) {}

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
