package wizard

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestTmuxWalks builds the real binary and walks it in tmux at 80x24 with NO_COLOR
// through each strategy on the demo data (testdata/tmux-walk.sh): Enter on every
// prefilled answer, then every command the report leaves on the terminal is pasted
// into the shell and must exit as the report says. It needs tmux, curl and openssl:
// without tmux it skips locally and fails in CI. CUTOVER_CAPTURES=DIR keeps the 80x24
// captures (options, the run mid-way, the terminal after the wizard).
func TestTmuxWalks(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the tmux-driven walks")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed; .ci/run installs it")
		}
		t.Skip("tmux is not installed")
	}
	bin := filepath.Join(t.TempDir(), "cutover")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/cutover").CombinedOutput(); err != nil {
		t.Fatalf("build cutover: %v\n%s", err, out)
	}
	script, _ := filepath.Abs(filepath.Join("testdata", "tmux-walk.sh"))
	// One after the other: the lazy walk's pasted bridge listens on the plan's port.
	for _, strategy := range []string{"bulk", "lazy", "authonly"} {
		t.Run(strategy, func(t *testing.T) {
			cmd := exec.Command("bash", script, bin, t.TempDir(), strategy, os.Getenv("CUTOVER_CAPTURES"))
			cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
			out, err := cmd.CombinedOutput()
			t.Logf("%s", out)
			if err != nil {
				t.Fatalf("tmux walk: %v", err)
			}
		})
	}
}
