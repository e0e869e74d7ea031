//go:build !unix

package bulk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// lockDir creates the lock file exclusively (O_EXCL) with this process's id. A lock left
// by a crashed process must be removed by hand; the error says so.
func lockDir(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, FileLock)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		holder, _ := os.ReadFile(path)
		return nil, &lockedError{dir: dir, who: "process " + string(holder) + " (delete " + path + " if it is no longer running)"}
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	fmt.Fprint(f, strconv.Itoa(os.Getpid()))
	f.Close()
	return func() { os.Remove(path) }, nil
}
