package sources

import (
	"testing"

	"github.com/cutover/cutover/strategies"
)

// TestEveryKindHasAReader: a kind added to the table without a reader would make Open
// panic; this says which row is wrong instead.
func TestEveryKindHasAReader(t *testing.T) {
	for _, k := range strategies.SourceKinds() {
		if readers[k.Reader] == nil {
			t.Errorf("source kind %s names reader %q, which package sources does not have", k.Name, k.Reader)
		}
	}
}
