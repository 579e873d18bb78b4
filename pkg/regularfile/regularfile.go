// Package regularfile reads files that other processes wrote and an
// attacker may have planted: only regular files, and at most a bound. A
// report folder is input like any other; a gate.json that is a FIFO (open
// blocks until a writer comes), a symlink to /dev/zero (reads never end) or
// a multi-gigabyte file must cost a problem line, not a hung or killed
// merge.
package regularfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular is returned for a FIFO, a device, a socket or a folder.
var ErrNotRegular = errors.New("not a regular file")

// Read reads path into buf (reusing its memory, growing it as needed) and
// returns the contents. It opens without blocking (O_NONBLOCK: opening a
// FIFO for reading would otherwise wait for a writer), refuses anything but
// a regular file after the open (so a swap between a check and the open
// cannot slip a device in), and stops at max bytes. Symlinks are followed:
// the file they end at must itself be regular.
func Read(path string, max int64, buf []byte) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf[:0], err
	}
	if !st.Mode().IsRegular() {
		return buf[:0], fmt.Errorf("%w (%s)", ErrNotRegular, kind(st.Mode()))
	}
	if st.Size() > max {
		return buf[:0], fmt.Errorf("larger than %d MiB (%d bytes)", max>>20, st.Size())
	}
	if cap(buf) == 0 {
		buf = make([]byte, 0, 64<<10)
	}
	b := buf[:cap(buf)]
	n := 0
	for {
		if n == len(b) {
			if int64(n) >= max {
				return b[:0], fmt.Errorf("larger than %d MiB", max>>20)
			}
			b = append(b, make([]byte, n)...)
		}
		m, err := f.Read(b[n:])
		n += m
		// A read that returns less than asked is the end of a regular
		// file, so most files cost one read.
		if err == io.EOF || err == nil && (m == 0 || n < len(b)) {
			break
		}
		if err != nil {
			return b[:0], err
		}
	}
	return b[:n], nil
}

func kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a folder"
	}
	return m.Type().String()
}
