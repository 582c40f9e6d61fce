package crosscheck

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// tcpListen is the kernel's TCP_LISTEN state as /proc/net/tcp prints it.
const tcpListen = 0x0A

// Socket is one row of /proc/PID/net/tcp or tcp6.
type Socket struct {
	Local netip.AddrPort
	State uint8
	Inode uint64
}

// ParseNetTCP parses the content of /proc/PID/net/tcp or tcp6. Rows that
// do not parse are skipped; an error means no row did while some were
// there, or the header is missing.
func ParseNetTCP(data []byte) ([]Socket, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 512), 4096)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("empty socket table")
	}
	if !strings.Contains(sc.Text(), "local_address") {
		return nil, errors.New("not a socket table: no header")
	}
	var out []Socket
	rows := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		rows++
		if s, ok := parseTCPRow(line); ok {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return out, err
	}
	if rows > 0 && len(out) == 0 {
		return nil, fmt.Errorf("none of %d socket rows parsed", rows)
	}
	return out, nil
}

// parseTCPRow parses "0: 0100007F:1F90 00000000:0000 0A ... uid timeout inode ...".
func parseTCPRow(line string) (Socket, bool) {
	f := strings.Fields(line)
	if len(f) < 10 || !strings.HasSuffix(f[0], ":") {
		return Socket{}, false
	}
	local, ok := parseHexAddrPort(f[1])
	if !ok {
		return Socket{}, false
	}
	st, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil {
		return Socket{}, false
	}
	inode, err := strconv.ParseUint(f[9], 10, 64)
	if err != nil {
		return Socket{}, false
	}
	return Socket{Local: local, State: uint8(st), Inode: inode}, true
}

// parseHexAddrPort parses "0100007F:1F90": the address as the kernel's
// 32-bit words printed in host byte order, the port as a number.
func parseHexAddrPort(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(p) == 0 || len(p) > 4 {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	b := make([]byte, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(b)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}

// socketInodes returns the inodes of the sockets pid has open.
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	out := map[uint64]bool{}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if v, ok := strings.CutPrefix(l, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(v, "]"), 10, 64); err == nil {
				out[n] = true
			}
		}
	}
	return out, nil
}

// maxListeners bounds how many listening addresses discovery probes.
const maxListeners = 16

// ListeningAddrs returns the TCP addresses pid listens on, as seen from
// inside its network namespace, ready to dial: a wildcard address becomes
// the loopback address. Loopback and IPv4 come first (where net/http/pprof
// usually listens), then by port.
func ListeningAddrs(pid int) ([]netip.AddrPort, error) {
	inodes, err := socketInodes(pid)
	if err != nil {
		return nil, err
	}
	var out []netip.AddrPort
	var errs []error
	for _, name := range []string{"tcp", "tcp6"} {
		path := fmt.Sprintf("/proc/%d/net/%s", pid, name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err) // tcp6 is missing without IPv6
			continue
		}
		socks, err := ParseNetTCP(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
		for _, s := range socks {
			if s.State != tcpListen || !inodes[s.Inode] {
				continue
			}
			out = append(out, dialable(s.Local)...)
		}
	}
	if len(out) == 0 && len(errs) == 2 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int {
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		return int(a.Port()) - int(b.Port())
	})
	out = slices.Compact(out)
	if len(out) > maxListeners {
		out = out[:maxListeners]
	}
	return out, nil
}

// dialable maps a listening address to addresses that reach it.
func dialable(a netip.AddrPort) []netip.AddrPort {
	switch {
	case a.Addr() == netip.IPv4Unspecified():
		return []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.Port())}
	case a.Addr() == netip.IPv6Unspecified():
		// Usually dual-stack: IPv4 loopback works, and ::1 where it does not.
		return []netip.AddrPort{
			netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.Port()),
			netip.AddrPortFrom(netip.IPv6Loopback(), a.Port()),
		}
	}
	return []netip.AddrPort{a}
}

func rank(a netip.AddrPort) int {
	r := 0
	if !a.Addr().IsLoopback() {
		r += 2
	}
	if !a.Addr().Is4() {
		r++
	}
	return r
}
