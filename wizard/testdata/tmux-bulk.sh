#!/usr/bin/env bash
# Drives the real cutover binary in tmux through the default bulk flow on the demo data:
# Enter on every prefilled answer, then checks that the final screen shows reconciled
# counts and that a demo user then signs in (cutover rehearse against the mock IdP).
# Usage: tmux-bulk.sh BINARY WORKDIR. Exit 0 pass, 1 fail.
set -euo pipefail
bin=$1 work=$2
cd "$work"
sock="cutover-tmux-$$"
session=wizard
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null || true' EXIT
t new-session -d -s "$session" -x 80 -y 24 "TERM=xterm-256color NO_COLOR=1 $bin; echo EXITED \$?; sleep 30"
screen() { t capture-pane -p -t "$session"; }
# Deadlines, not step counts: a loaded CI machine may take much longer than a laptop.
deadline=$((SECONDS + 240))
while [ "$SECONDS" -lt "$deadline" ]; do
  s=$(screen)
  # Every screen keeps its header on the first line: nothing may push it off the top.
  # (Look twice: a capture can land in the middle of a redraw.)
  if ! head -1 <<<"$s" | grep -q "^cutover · "; then
    sleep 0.3; s=$(screen)
    if ! head -1 <<<"$s" | grep -q "^cutover · " && ! grep -q "EXITED" <<<"$s"; then
      echo "FAIL: the screen's first line is not its header:"; echo "$s"; exit 1
    fi
  fi
  if grep -q "enter: quit" <<<"$s"; then break; fi
  if grep -q "EXITED" <<<"$s"; then echo "the wizard exited early:"; echo "$s"; exit 1; fi
  if grep -q "Running bulk\|Reading the first rows\|Testing the connection\|Checking" <<<"$s"; then sleep 0.5; continue; fi
  t send-keys -t "$session" Enter
  sleep 0.3
done
final=$(screen)
echo "$final"
grep -q "reconciled: every row is accounted for" <<<"$final" || { echo "FAIL: no reconciled counts on the report"; exit 1; }
t send-keys -t "$session" Enter
deadline=$((SECONDS + 60))
until grep -q "EXITED" <<<"$(screen)" || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
grep -q "EXITED 0" <<<"$(screen)" || { echo "FAIL: the wizard did not exit 0 after the report:"; screen; exit 1; }
[ -f cutover-plan.yaml ] || { echo "FAIL: the plan was not saved"; exit 1; }
# The rehearsal replays the saved plan into a fresh mock IdP and signs in every demo user
# of .cutover/demo/known-passwords.csv with their old password. Users whose hash format
# the authgear profile cannot import were moved without a password and cannot (exit 3):
# what must hold is that the rehearsal ran and demo users with importable hashes signed in.
set +e
"$bin" rehearse --plan cutover-plan.yaml --json >rehearse.json 2>rehearse.err
code=$?
set -e
if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then
  echo "FAIL: cutover rehearse exited $code"; cat rehearse.err; exit 1
fi
ok=$(grep -c '"ok": true' rehearse.json || true)
if [ "$ok" -lt 1 ]; then
  echo "FAIL: no demo user signed in at the mock IdP"; cat rehearse.json; exit 1
fi
echo "PASS: $ok demo user(s) signed in at the mock IdP with their old password"
