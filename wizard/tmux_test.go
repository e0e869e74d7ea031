package wizard

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTmuxBulkFlow builds the real binary and drives it in tmux through the default bulk
// flow (testdata/tmux-bulk.sh). It needs tmux and the engine's runner: without tmux it
// skips locally and fails in CI; without the runner in this build it skips, saying so.
func TestTmuxBulkFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the tmux-driven end-to-end flow")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed; .ci/run installs it")
		}
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cutover")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/cutover").CombinedOutput(); err != nil {
		t.Fatalf("build cutover: %v\n%s", err, out)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "tmux-bulk.sh"))
	cmd := exec.Command("bash", script, bin, dir)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tmux flow: %v\n%s", err, out)
	}
}
