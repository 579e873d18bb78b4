package serve

import "syscall"

// childAttr puts each gate in its own process group (the server interrupts
// and, if need be, kills the group: browsers included) and asks the kernel
// to send it SIGTERM should the server itself die without cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
