package targets

import (
	"github.com/cutover/cutover/strategies"
)

// Rule is one way a target can lock a migrated user out, declared with where it was
// seen (the real server's answer, or its documentation), what to do about it, and
// how it is told: from the source before the day (Locks), or only at sign-in, where
// the bridge enforces it (Refuses).
type Rule struct {
	Name   string // stable, for reports and metrics: "password_over_72_bytes"
	What   string // what the target does, in a sentence
	Fix    string // what to do before the day
	Source string // where the rule comes from
	// Locks reports whether the rule locks u out, from what the source shows; keeps
	// says whether u's hash keeps its password at the target. nil: only a sign-in can
	// tell (see Refuses).
	Locks func(u *strategies.User, keeps bool) bool
	// Refuses returns why the target would refuse (or wrongly keep) this password for a
	// user whose legacy hash is of format, "" when it would not: the bridge answers
	// such a sign-in with a reset rather than "verified". nil for rules Locks decides.
	Refuses func(password []byte, format string) string
}

// Rules returns the plan's target's rules.
func Rules(p *strategies.Plan) []Rule {
	i, err := of(p)
	if err != nil || i.rules == nil {
		return commonRules()
	}
	return i.rules(p)
}

// bcryptMax is the number of password bytes bcrypt reads; the rest is ignored.
const bcryptMax = 72

// truncatesAt72 says which legacy formats verify only the first 72 bytes of a password.
func truncatesAt72(format string) bool {
	switch format {
	case "bcrypt", "django_bcrypt":
		return true
	}
	return false
}

// commonRules hold at every target: hashes it cannot import, disabled users, and
// bcrypt's 72 bytes (a prefix must never become someone's password).
func commonRules() []Rule {
	return []Rule{
		{Name: "hash_not_importable",
			What:   "their hash format cannot be imported there: bulk moves them without a password",
			Fix:    "move them with the lazy strategy (the bridge checks the legacy hash at their first sign-in), or let them reset",
			Source: "the target's hash rules (cutover hash formats; Authgear's User Import API, Kratos v1.3.1 hash_comparator.go)",
			Locks:  func(u *strategies.User, keeps bool) bool { return u.PasswordHash != "" && !keeps }},
		{Name: "disabled",
			What:   "imported disabled, as in the legacy system: they cannot sign in",
			Fix:    "nothing, if they were meant to stay locked; else enable them in the source first",
			Source: "the mapping's disabled field",
			Locks:  func(u *strategies.User, _ bool) bool { return u.Disabled }},
		{Name: "bcrypt_72_bytes",
			What: "a bcrypt hash checks only 72 bytes: a longer sign-in cannot prove the whole password",
			Fix:  "the bridge sends it to a password reset; a prefix never becomes the password",
			Source: "bcrypt's definition (golang.org/x/crypto/bcrypt reads 72 bytes); seen with Kratos v1.3.1, where a 72-byte " +
				"prefix of a 100-byte password verified and became the stored password",
			Refuses: func(pw []byte, format string) string {
				if truncatesAt72(format) && len(pw) >= bcryptMax {
					return "bcrypt_72_bytes: the legacy bcrypt hash reads only the first 72 bytes, so this password cannot be proven whole; reset it"
				}
				return ""
			}},
	}
}

// kratosRules are Ory Kratos v1.3.1's, as observed.
func kratosRules(p *strategies.Plan) []Rule {
	// Kratos's own rules first: a refusal names the most specific reason.
	return append([]Rule{
		{Name: "password_over_72_bytes",
			What:   "Kratos refuses passwords over 72 bytes: such a user can never keep theirs",
			Fix:    "the bridge sends them to a password reset; status does not count them migrated",
			Source: "observed: Kratos v1.3.1 answers 4000033 \"The password must be at most 72 characters long, but got 100\"",
			Refuses: func(pw []byte, _ string) string {
				if len(pw) > bcryptMax {
					return "password_over_72_bytes: Kratos refuses passwords over 72 bytes; reset it to a shorter one"
				}
				return ""
			}},
		{Name: "unverified_email",
			What:   "unverified email: if login requires a verified address (require_verified_address), they verify first",
			Fix:    "map email_verified from the source, or leave require_verified_address off until they have signed in once",
			Source: "Kratos documentation: selfservice.flows.login.after.hooks require_verified_address",
			Locks: func(u *strategies.User, _ bool) bool {
				return u.Email != "" && (u.EmailVerified == nil || !*u.EmailVerified)
			}},
	}, commonRules()...)
}

// Refusal returns the first of rules that refuses password for a user whose legacy
// hash has format, and why; "" when none does.
func Refusal(rules []Rule, password []byte, format string) (rule, why string) {
	for _, r := range rules {
		if r.Refuses != nil {
			if why := r.Refuses(password, format); why != "" {
				return r.Name, why
			}
		}
	}
	return "", ""
}
