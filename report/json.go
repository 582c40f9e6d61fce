package report

import (
	"encoding/json"
	"io"
	"path/filepath"
)

// SuspectsFile is the name of the JSON document in the output directory.
const SuspectsFile = "suspects.json"

// WriteJSON writes doc to dir/suspects.json, atomically replacing any
// previous version. Nil lists and maps are written as [] and {}.
func WriteJSON(dir string, doc *Document) error {
	path := filepath.Join(dir, SuspectsFile)
	data, err := MarshalDocument(doc)
	if err != nil {
		return errorf(path, err)
	}
	return errorf(path, writeFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}))
}

// MarshalDocument returns doc as suspects.json holds it (indented, with a
// final newline, nil lists and maps as [] and {}).
func MarshalDocument(doc *Document) ([]byte, error) {
	data, err := json.MarshalIndent(doc.normalized(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
