package bulk

import "fmt"

// lockedError says another run holds the run directory.
type lockedError struct{ dir, who string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("run directory %s is in use by %s; wait for that run to finish (two runs must not write at once)", e.dir, e.who)
}
