//go:build !unix

package mapping

import "errors"

// diskTable is only available where files can be mapped shared (unix); elsewhere the
// duplicate index stays in memory.
type diskTable struct{}

func newDiskTable(uint64) (*diskTable, error) {
	return nil, errors.New("the duplicate index stays in memory on this system")
}

func (t *diskTable) lookup(uint64) (int32, func(int32), bool) { panic("unreachable") }
func (t *diskTable) add(uint64, int32) error                  { panic("unreachable") }
func (t *diskTable) close() error                             { return nil }
