package demo

import (
	"fmt"
	"path/filepath"

	"github.com/cutover/cutover/strategies"
)

// Demo data: where a fresh checkout's defaults live. The directory is relative to the
// working directory, beside the run records (.cutover/runs) and the in-process mock
// IdP's users (.cutover/mockidp), so one `rm -r .cutover` starts a rehearsal over.
const Dir = ".cutover/demo"

// Fresh writes the bundled demo database (and its known passwords) into Dir,
// fresh on every start, and returns the plan of a fresh checkout: bulk from the demo
// database into the in-process mock IdP. The database path in the plan is absolute, so
// the saved plan finds it wherever it is saved.
func Fresh() (*strategies.Plan, error) {
	dir, err := filepath.Abs(Dir)
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	db, err := Write(dir)
	if err != nil {
		return nil, fmt.Errorf("%w; run cutover from a directory you can write to, or give a plan with 'cutover wizard --plan FILE'", err)
	}
	p := Plan(db)
	// Most demo hashes are formats an Authgear target cannot import: moving those users
	// without a password (they sign in with a code) keeps the default path free of
	// failures; the preview shows the trade-off and the lazy alternative.
	p.Bulk.UnsupportedHash = strategies.UnsupportedWithoutPassword
	return p, nil
}
