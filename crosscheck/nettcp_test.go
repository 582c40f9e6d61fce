package crosscheck

import (
	"net"
	"net/netip"
	"os"
	"slices"
	"testing"
)

const sampleTCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1457 1 00000000e1ef8e3d 100 0 0 10 0
   1: 0100007F:ACB7 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 236182 2 0000000077750876 100 0 0 10 0
   2: 0100007F:ACB7 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 236190 1 0000000077750877 20 4 30 10 -1
   3: garbage row
`

const sampleTCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1770 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:1771 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5556 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1772 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5557 1 0000000000000000 100 0 0 10 0
`

func TestParseNetTCP(t *testing.T) {
	got, err := ParseNetTCP([]byte(sampleTCP))
	if err != nil {
		t.Fatal(err)
	}
	want := []Socket{
		{netip.MustParseAddrPort("0.0.0.0:2024"), tcpListen, 1457},
		{netip.MustParseAddrPort("127.0.0.1:44215"), tcpListen, 236182},
		{netip.MustParseAddrPort("127.0.0.1:44215"), 1, 236190},
	}
	if !slices.Equal(got, want) {
		t.Errorf("tcp:\n got %v\nwant %v", got, want)
	}
	got, err = ParseNetTCP([]byte(sampleTCP6))
	if err != nil {
		t.Fatal(err)
	}
	want = []Socket{
		{netip.MustParseAddrPort("[::]:6000"), tcpListen, 5555},
		{netip.MustParseAddrPort("[::1]:6001"), tcpListen, 5556},
		{netip.MustParseAddrPort("127.0.0.1:6002"), tcpListen, 5557}, // v4-mapped
	}
	if !slices.Equal(got, want) {
		t.Errorf("tcp6:\n got %v\nwant %v", got, want)
	}
	for _, bad := range []string{"", "hello\n", "local_address\nx y z\n"} {
		if _, err := ParseNetTCP([]byte(bad)); err == nil {
			t.Errorf("ParseNetTCP(%q): want an error", bad)
		}
	}
	// A header alone is an empty table, not an error.
	if s, err := ParseNetTCP([]byte("  sl  local_address rem_address st\n")); err != nil || len(s) != 0 {
		t.Errorf("header only: %v, %v", s, err)
	}
}

// FuzzParseNetTCP: whatever /proc says, no panic, and every socket
// returned has a valid address.
func FuzzParseNetTCP(f *testing.F) {
	f.Add([]byte(sampleTCP))
	f.Add([]byte(sampleTCP6))
	if b, err := os.ReadFile("/proc/self/net/tcp"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		socks, _ := ParseNetTCP(data)
		for _, s := range socks {
			if !s.Local.IsValid() {
				t.Fatalf("invalid address in %+v", s)
			}
		}
	})
}

// TestListeningAddrsSelf: a socket this process listens on is found
// through /proc/self's fd table and socket tables, wildcard made dialable.
func TestListeningAddrsSelf(t *testing.T) {
	ln, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	addrs, err := ListeningAddrs(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	if !slices.Contains(addrs, want) {
		t.Errorf("ListeningAddrs(self) = %v, want it to hold %v", addrs, want)
	}
	if _, err := ListeningAddrs(1 << 30); err == nil {
		t.Error("ListeningAddrs of a pid that cannot exist: want an error")
	}
}
