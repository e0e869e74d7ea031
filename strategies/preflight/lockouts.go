package preflight

import (
	"fmt"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/targets"
)

// TargetLockouts are, for one target, how many valid users each of its rules would
// lock out (targets.Rules): what the source shows now, and the rules only a sign-in can
// tell, which the bridge enforces.
type TargetLockouts struct {
	Target   string    `json:"target"` // target.kind
	Title    string    `json:"title"`
	Plan     bool      `json:"plan,omitempty"` // the plan's own target
	Keep     int64     `json:"keep_password"`  // valid users whose hash keeps its password there
	Lockouts []Lockout `json:"lockouts"`

	hashes idp.Hashes
	rules  []targets.Rule
}

// Lockout is one rule's count.
type Lockout struct {
	Rule     string `json:"rule"`
	Users    int64  `json:"users"`                // -1 for AtSignIn rules
	AtSignIn bool   `json:"at_sign_in,omitempty"` // only a sign-in can tell; the bridge enforces it
	What     string `json:"what"`
	Fix      string `json:"fix"`
	Source   string `json:"source"`
}

// lockoutTargets lists the plan's target first, then every other kind with rules of
// its own (the mock IdP stands for Authgear, whose rules it imitates).
func lockoutTargets(p *strategies.Plan) []TargetLockouts {
	add := func(out []TargetLockouts, q *strategies.Plan, own bool) []TargetLockouts {
		k, _ := strategies.TargetKindOf(q.Target.Kind)
		t := TargetLockouts{Target: k.Name, Title: k.Label, Plan: own, hashes: targets.Hashes(q), rules: targets.Rules(q)}
		for _, r := range t.rules {
			t.Lockouts = append(t.Lockouts, Lockout{Rule: r.Name, AtSignIn: r.Locks == nil, What: r.What, Fix: r.Fix, Source: r.Source})
		}
		return append(out, t)
	}
	out := add(nil, p, true)
	seen := map[string]bool{out[0].hashes.Name(): true}
	for _, k := range strategies.TargetKinds() {
		if k.Imitates != "" {
			continue
		}
		q := *p
		q.Target = strategies.Target{Kind: k.Name}
		if h := targets.Hashes(&q); !seen[h.Name()] {
			seen[h.Name()] = true
			out = add(out, &q, false)
		}
	}
	return out
}

// countLockouts counts a valid user against every target's rules.
func (r *Report) countLockouts(u *strategies.User) {
	for i := range r.Lockouts {
		t := &r.Lockouts[i]
		keeps := u.PasswordFormat != "" && t.hashes.Importable(u.PasswordFormat)
		if keeps {
			t.Keep++
		}
		for j, rule := range t.rules {
			if rule.Locks != nil && rule.Locks(u, keeps) {
				t.Lockouts[j].Users++
			}
		}
	}
}

// finishLockouts marks the rules only a sign-in can tell.
func (r *Report) finishLockouts() {
	for i := range r.Lockouts {
		for j := range r.Lockouts[i].Lockouts {
			if r.Lockouts[i].Lockouts[j].AtSignIn {
				r.Lockouts[i].Lockouts[j].Users = -1
			}
		}
	}
}

// writeLockouts prints, per target, who keeps their password and who each rule locks out.
func writeLockouts(b *strings.Builder, r *Report) {
	if len(r.Lockouts) == 0 {
		return
	}
	b.WriteString("\nLockouts by target (users who could not sign in as before, and what to do)\n")
	for _, t := range r.Lockouts {
		mark := ""
		if t.Plan {
			mark = " (this plan's target)"
		}
		fmt.Fprintf(b, "  %s%s: %s of %s valid users keep their password\n", t.Title, mark, strategies.GroupDigits(t.Keep), strategies.GroupDigits(r.Valid))
		for _, l := range t.Lockouts {
			switch {
			case l.AtSignIn:
				fmt.Fprintf(b, "    %-22s %6s  %s\n%31s%s\n", l.Rule, "-", l.What, "", "at sign-in: "+l.Fix)
			case l.Users > 0:
				fmt.Fprintf(b, "    %-22s %6s  %s\n%31s%s\n", l.Rule, strategies.GroupDigits(l.Users), l.What, "", "fix: "+l.Fix)
			}
		}
	}
}

// lockoutLines puts each target's lockouts on one line, for the wizard's preview:
// "Ory Kratos (this plan's target): 783 of 985 keep their password; locked out:
// hash_not_importable 202, disabled 51; at sign-in: password_over_72_bytes".
func lockoutLines(r *Report) []string {
	var out []string
	for _, t := range r.Lockouts {
		var b strings.Builder
		b.WriteString(t.Title)
		if t.Plan {
			b.WriteString(" (this plan's target)")
		}
		fmt.Fprintf(&b, ": %s of %s keep their password", strategies.GroupDigits(t.Keep), strategies.GroupDigits(r.Valid))
		var now, later []string
		for _, l := range t.Lockouts {
			switch {
			case l.AtSignIn:
				later = append(later, l.Rule)
			case l.Users > 0:
				now = append(now, l.Rule+" "+strategies.GroupDigits(l.Users))
			}
		}
		if len(now) > 0 {
			b.WriteString("; locked out: " + strings.Join(now, ", "))
		}
		if len(later) > 0 {
			b.WriteString("; at sign-in (the bridge resets): " + strings.Join(later, ", "))
		}
		out = append(out, b.String())
	}
	return out
}
