package authonly

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DefaultMappingFile is where file sources get their legacy id -> IdP id mapping, beside
// the plan, unless authonly.mapping_file says.
const DefaultMappingFile = "idp_user_ids.csv"

// mappingHeader is the mapping file's first line.
var mappingHeader = []string{"legacy_id", "idp_user_id"}

// WriteMappingFile writes pairs as CSV (legacy_id,idp_user_id) to path, atomically: a
// crash leaves the previous file or the new one, never half of one. Writing the same
// pairs again gives the same bytes.
func WriteMappingFile(path string, pairs []Pair) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("write mapping file: %w", err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write mapping file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	w := csv.NewWriter(bw)
	_ = w.Write(mappingHeader)
	for _, p := range pairs {
		_ = w.Write([]string{p.LegacyID, p.IdPUserID})
	}
	w.Flush()
	err = errors.Join(w.Error(), bw.Flush(), f.Sync(), f.Close())
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write mapping file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write mapping file: %w", err)
	}
	return nil
}

// ReadMappingFile reads a file written by WriteMappingFile.
func ReadMappingFile(path string) ([]Pair, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read mapping file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.FieldsPerRecord = 2
	var out []Pair
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if line == 1 && rec[0] == mappingHeader[0] {
			continue
		}
		out = append(out, Pair{LegacyID: rec[0], IdPUserID: rec[1]})
	}
}
