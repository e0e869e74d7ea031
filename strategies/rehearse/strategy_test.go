package rehearse

import (
	"testing"

	"github.com/cutover/cutover/strategies"
)

// TestEveryStrategyHasARow: a strategy the plan file and the wizard offer
// (strategies.StrategyKinds) is one the commands can run or rehearse, and back.
func TestEveryStrategyHasARow(t *testing.T) {
	offered := map[string]bool{}
	for _, k := range strategies.StrategyKinds() {
		offered[k.Name] = true
		if s, ok := StrategyOf(k.Name); !ok || s.rehearse == nil {
			t.Errorf("strategy %q: got no rehearsal row, want one in table", k.Name)
		}
	}
	for name := range table {
		if !offered[name] {
			t.Errorf("strategy %q has a row but is not in strategies.StrategyKinds", name)
		}
	}
}
