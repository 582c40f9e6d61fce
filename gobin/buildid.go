package gobin

import (
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
)

// maxNoteSize bounds how much of a PT_NOTE segment is read.
const maxNoteSize = 1 << 16

// Note types of the build IDs (cmd/link/internal/ld/elf.go).
const (
	ntGNUBuildID = 3 // name "GNU"
	ntGoBuildID  = 4 // name "Go"
)

// readBuildID returns "gnu:<hex>" from the GNU build ID note, else
// "go:<id>" from the Go one, else "". Notes are read from both the note
// sections and the PT_NOTE segments: Go's linker leaves the GNU note out of
// its PT_NOTE, and a sectionless file has only the segments.
func readBuildID(im *image) string {
	var gnu, golang string
	visit := func(off, size uint64) {
		if size > maxNoteSize {
			return
		}
		data, err := im.readFile(off, size)
		if err != nil {
			return
		}
		forEachNote(data, im.order, func(name string, typ uint32, desc []byte) {
			switch {
			case name == "GNU" && typ == ntGNUBuildID && gnu == "":
				gnu = "gnu:" + hex.EncodeToString(desc)
			case name == "Go" && typ == ntGoBuildID && golang == "":
				golang = "go:" + string(desc)
			}
		})
	}
	for _, s := range im.f.Sections {
		if s.Type == elf.SHT_NOTE {
			visit(s.Offset, s.Size)
		}
	}
	for _, p := range im.f.Progs {
		if p.Type == elf.PT_NOTE {
			visit(p.Off, p.Filesz)
		}
	}
	if gnu != "" {
		return gnu
	}
	return golang
}

// forEachNote walks the ELF notes in data: a header of name size,
// descriptor size and type, then the name and descriptor, each padded to 4
// bytes.
func forEachNote(data []byte, order binary.ByteOrder, fn func(name string, typ uint32, desc []byte)) {
	pad := func(n uint64) uint64 { return (n + 3) &^ 3 }
	for len(data) >= 12 {
		namesz := uint64(order.Uint32(data))
		descsz := uint64(order.Uint32(data[4:]))
		typ := order.Uint32(data[8:])
		data = data[12:]
		if pad(namesz) > uint64(len(data)) {
			return
		}
		name := data[:namesz]
		data = data[pad(namesz):]
		if descsz > uint64(len(data)) {
			return
		}
		desc := data[:descsz]
		data = data[min(pad(descsz), uint64(len(data))):]
		for len(name) > 0 && name[len(name)-1] == 0 {
			name = name[:len(name)-1]
		}
		fn(string(name), typ, desc)
	}
}
