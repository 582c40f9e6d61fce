package symbolize

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End   uint64 // run-time addresses, End exclusive
	Perms        string // "r-xp"
	Offset       uint64 // file offset of Start
	Major, Minor uint32 // device of the file
	Inode        uint64
	// Path is the file name, a pseudo-name such as "[vdso]" or
	// "[stack]", or "" for anonymous memory. The kernel appends
	// " (deleted)" to files removed since they were mapped.
	Path string
}

// Limits on untrusted maps input. A line is at most a few numbers and a
// PATH_MAX path; the default vm.max_map_count is 65530.
const (
	maxMapsLine     = 64 << 10
	maxMapsMappings = 1 << 22
)

// ParseMaps parses the contents of /proc/PID/maps. Malformed lines are
// errors: the kernel never writes them, so they mean the input is not a
// maps file.
func ParseMaps(r io.Reader) ([]Mapping, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxMapsLine)
	sc.Split(scanLF)
	var maps []Mapping
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		if len(maps) == maxMapsMappings {
			return nil, fmt.Errorf("more than %d mappings", maxMapsMappings)
		}
		m, err := parseMapsLine(line)
		if err != nil {
			return nil, fmt.Errorf("maps line %d: %w", n, err)
		}
		maps = append(maps, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading maps: %w", err)
	}
	return maps, nil
}

// scanLF splits lines at '\n' only: unlike bufio.ScanLines it keeps a
// trailing '\r', which can be part of a file name.
func scanLF(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

var errMapsSyntax = errors.New("malformed maps line")

// parseMapsLine parses "start-end perms offset major:minor inode   path".
// The path is the rest of the line after the blanks that pad it, and may
// itself contain blanks.
func parseMapsLine(line string) (Mapping, error) {
	var m Mapping
	var fields [5]string
	rest := line
	for i := range fields {
		rest = strings.TrimLeft(rest, " \t")
		end := strings.IndexAny(rest, " \t")
		if end < 0 {
			end = len(rest)
		}
		fields[i], rest = rest[:end], rest[end:]
		if fields[i] == "" {
			return m, fmt.Errorf("%w: %d fields", errMapsSyntax, i)
		}
	}
	m.Path = strings.TrimLeft(rest, " \t")

	start, end, ok := strings.Cut(fields[0], "-")
	if !ok {
		return m, fmt.Errorf("%w: address range %q", errMapsSyntax, fields[0])
	}
	var err error
	if m.Start, err = strconv.ParseUint(start, 16, 64); err != nil {
		return m, fmt.Errorf("%w: start: %w", errMapsSyntax, err)
	}
	if m.End, err = strconv.ParseUint(end, 16, 64); err != nil {
		return m, fmt.Errorf("%w: end: %w", errMapsSyntax, err)
	}
	if m.End <= m.Start {
		return m, fmt.Errorf("%w: empty range %q", errMapsSyntax, fields[0])
	}
	if !validPerms(fields[1]) {
		return m, fmt.Errorf("%w: permissions %q", errMapsSyntax, fields[1])
	}
	m.Perms = fields[1]
	if m.Offset, err = strconv.ParseUint(fields[2], 16, 64); err != nil {
		return m, fmt.Errorf("%w: offset: %w", errMapsSyntax, err)
	}
	major, minor, ok := strings.Cut(fields[3], ":")
	if !ok {
		return m, fmt.Errorf("%w: device %q", errMapsSyntax, fields[3])
	}
	maj, err := strconv.ParseUint(major, 16, 32)
	if err != nil {
		return m, fmt.Errorf("%w: device: %w", errMapsSyntax, err)
	}
	mnr, err := strconv.ParseUint(minor, 16, 32)
	if err != nil {
		return m, fmt.Errorf("%w: device: %w", errMapsSyntax, err)
	}
	m.Major, m.Minor = uint32(maj), uint32(mnr)
	if m.Inode, err = strconv.ParseUint(fields[4], 10, 64); err != nil {
		return m, fmt.Errorf("%w: inode: %w", errMapsSyntax, err)
	}
	return m, nil
}

// validPerms accepts the kernel's "rwxp" form, each letter or '-', the last
// 'p' (private) or 's' (shared).
func validPerms(p string) bool {
	return len(p) == 4 &&
		(p[0] == 'r' || p[0] == '-') && (p[1] == 'w' || p[1] == '-') &&
		(p[2] == 'x' || p[2] == '-') && (p[3] == 'p' || p[3] == 's')
}

// String formats m as a maps line.
func (m Mapping) String() string {
	s := fmt.Sprintf("%x-%x %s %08x %02x:%02x %d", m.Start, m.End, m.Perms, m.Offset, m.Major, m.Minor, m.Inode)
	if m.Path != "" {
		s += " " + m.Path
	}
	return s
}
