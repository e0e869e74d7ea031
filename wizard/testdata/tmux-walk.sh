#!/usr/bin/env bash
# Drives the real cutover binary in tmux, at 80x24 with NO_COLOR, the way a newcomer
# does: a shell, `cutover`, Enter on every prefilled answer (the strategy chosen by
# STRATEGY), the report; then it pastes every command the report left on the terminal
# into that shell and checks each exits as the report says (0 unless the step says
# "exits N"; the bridge, which "runs until Ctrl+C", must answer /healthz, then stop
# with 0 on Ctrl+C).
# Usage: tmux-walk.sh BINARY WORKDIR STRATEGY [CAPTURES_DIR]. Exit 0 pass, 1 fail.
# Prints "TIME launch-to-report: Ns" and, with CAPTURES_DIR, leaves 80x24 captures
# there: STRATEGY-options.txt, STRATEGY-run.txt (mid-way), STRATEGY-exit.txt.
set -euo pipefail
bin=$1 work=$2 strategy=$3 captures=${4:-}
mkdir -p "$work/bin"
ln -sf "$bin" "$work/bin/cutover"
cd "$work"
sock="cutover-walk-$$"
t() { tmux -L "$sock" "$@"; }
trap 't kill-server 2>/dev/null || true' EXIT
fail() { echo "FAIL ($strategy): $*"; echo "--- screen:"; t capture-pane -p -J -S - -t w || true; exit 1; }
t new-session -d -s w -x 80 -y 24 "env -i HOME=$work HISTFILE=/dev/null PATH=$work/bin:/usr/bin:/bin TERM=xterm-256color NO_COLOR=1 LANG=C.UTF-8 PS1='$ ' bash --norc --noprofile"
screen() { t capture-pane -p -t w; }
keep() { [ -n "$captures" ] && screen >"$captures/$strategy-$1.txt" || true; }
# wait_for TEXT SECONDS [-E]: deadline, not step counts (-E: TEXT is a regexp).
wait_for() {
  local deadline=$((SECONDS + $2)) how=${3:--F}
  until grep -q $how -- "$1" <<<"$(t capture-pane -p -J -S - -t w)"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "no \"$1\" after $2s"
    sleep 0.2
  done
}
wait_for '$ ' 10
start=$(date +%s.%N)
t send-keys -t w 'cutover' Enter
wait_for 'cutover · Welcome' 60
# Esc on the welcome screen stays there (it used to go forward).
t send-keys -t w Escape
sleep 0.5
screen | head -1 | grep -q '^cutover · Welcome' || fail "Esc on the welcome screen left it"
downs=0
case $strategy in lazy) downs=1 ;; authonly) downs=2 ;; esac
chose=0 saw_options=0 saw_run=0
deadline=$((SECONDS + 300))
while :; do
  [ "$SECONDS" -lt "$deadline" ] || fail "no report after 300s"
  s=$(screen)
  # Every screen keeps its header on the first line (look twice: a capture can land
  # in the middle of a redraw).
  if ! head -1 <<<"$s" | grep -q '^cutover · '; then
    sleep 0.3
    s=$(screen)
    head -1 <<<"$s" | grep -q '^cutover · ' || fail "the screen's first line is not its header"
  fi
  grep -q 'enter: quit' <<<"$s" && break
  if [ $chose = 0 ] && grep -q 'Which strategy?' <<<"$s"; then
    for _ in $(seq $downs); do t send-keys -t w Down; done
    chose=1
    sleep 0.2
  fi
  if [ $saw_options = 0 ] && head -1 <<<"$s" | grep -q '· Options ·'; then keep options; saw_options=1; fi
  if grep -q 'Running \|Rehearsing \|Reading the first\|Testing the\|Checking\|Saving' <<<"$s"; then
    # Keep the first progress seen, then one from mid-way (30% to 69%) if the run lasts.
    if [ $saw_run = 0 ] && grep -qE '[1-9][0-9,]* / [0-9,]+ (rows|sign-ins)' <<<"$s"; then keep run; saw_run=1; fi
    if [ $saw_run = 1 ] && grep -qE '/ [0-9,]+ (rows|sign-ins) \([3-6][0-9]%\)' <<<"$s"; then keep run; saw_run=2; fi
    sleep 0.1
    continue
  fi
  t send-keys -t w Enter
  sleep 0.3
done
echo "TIME launch-to-report: $(echo "$(date +%s.%N) - $start" | bc)s"
s=$(screen)
grep -q 'reconciled: every row is accounted for' <<<"$s" || fail "no reconciled counts on the report"
t send-keys -t w Enter
wait_for 'plan saved: cutover-plan.yaml' 30
sleep 0.5
keep exit
after=$(t capture-pane -p -J -S - -t w)
grep -q 'Next steps' <<<"$after" || fail "the report did not stay on the terminal after the wizard closed"
# The commands: the lines under "Next steps" indented by six, each with its step above.
mapfile -t cmds < <(awk '/^Next steps/{on=1; next} on && /^      [^ ]/{sub(/^ +/, ""); print}' <<<"$after")
[ "${#cmds[@]}" -gt 0 ] || fail "no commands in the next steps"
n=0
for c in "${cmds[@]}"; do
  n=$((n + 1))
  want=0
  step=$(grep -B3 -F -- "$c" <<<"$after" | tr '\n' ' ' || true)
  if [[ $step =~ exits\ ([0-9]+) ]]; then want=${BASH_REMATCH[1]}; fi
  t send-keys -t w C-l
  t clear-history -t w
  if [[ $c == *"cutover bridge"* ]]; then
    t send-keys -t w -l -- "$c; echo RC$n=\$?"
    t send-keys -t w Enter
    deadline=$((SECONDS + 30))
    until curl -fs http://127.0.0.1:8788/healthz >/dev/null 2>&1; do
      [ "$SECONDS" -lt "$deadline" ] || fail "pasted '$c': the bridge did not answer /healthz"
      grep -qE "^RC$n=[0-9]" <<<"$(screen)" && fail "pasted '$c': the bridge exited: $(screen | tail -5)"
      sleep 0.3
    done
    t send-keys -t w C-c
  else
    t send-keys -t w -l -- "$c; echo RC$n=\$?"
    t send-keys -t w Enter
  fi
  wait_for "^RC$n=[0-9]" 300 -E
  got=$(t capture-pane -p -J -S - -t w | grep -o "^RC$n=[0-9]*" | tail -1 | cut -d= -f2)
  if [ "$got" != "$want" ]; then
    echo "FAIL ($strategy): pasted '$c' exited $got, the report says $want"
    t capture-pane -p -J -S - -t w | tail -15
    failed=1
  else
    echo "ok ($strategy): '$c' exited $got"
  fi
done
[ -z "${failed:-}" ] || exit 1
echo "PASS ($strategy)"
