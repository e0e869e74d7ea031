// Command gencsv writes a generated legacy users CSV and a plan for it, to measure
// `cutover plan check` on large sources:
//
//	go run ./strategies/preflight/testdata/gencsv -rows 1000000 -dir /tmp/big
//	/usr/bin/time -v go run ./cmd/cutover plan check /tmp/big/plan.yaml
//
// It prints the counts a correct preflight reports.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cutover/cutover/strategies/preflight/internal/usersgen"
)

const plan = `version: 1
strategy: bulk
source:
  kind: csv
  path: users.csv
mapping:
  legacy_id: id
  email: email
  email_verified: email_verified
  name: name
  disabled: {column: is_active, transform: not}
  password_hash: password
  password_format: auto
target:
  kind: mockidp
`

func main() {
	rows := flag.Int("rows", 1_000_000, "users to write")
	dir := flag.String("dir", ".", "directory for users.csv and plan.yaml")
	flag.Parse()
	if err := run(*rows, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "gencsv:", err)
		os.Exit(1)
	}
}

func run(rows int, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "users.csv"))
	if err != nil {
		return err
	}
	st, err := usersgen.Write(f, rows)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.yaml"), []byte(plan), 0o644); err != nil {
		return err
	}
	out, _ := json.MarshalIndent(st, "", "  ")
	fmt.Println(string(out))
	return nil
}
