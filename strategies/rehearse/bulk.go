package rehearse

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
)

// rehearseBulk imports into the target, then every known user signs in with their old
// password; a refusal is explained from the run's outcome log where it can be.
func rehearseBulk(ctx context.Context, rh *rehearsal) (*Result, error) {
	t, open, err := rh.open(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer t.close()
	r := &bulk.Runner{Log: rh.cfg.Log, OpenTarget: open}
	rep, err := r.Run(ctx, &rh.plan, strategies.RunOptions{Progress: rh.cfg.Progress})
	if err != nil {
		return nil, err
	}
	res := &Result{Report: rep, Profile: t.Bulk.Hashes.Name(), SignIns: []SignIn{},
		Headline: fmt.Sprintf("Rehearsal against %s (profile %s)", t.Name, t.Bulk.Hashes.Name())}
	if len(rh.creds) == 0 {
		return res, nil
	}
	byEmail, err := outcomeByEmail(rep.RunDir)
	if err != nil {
		return nil, err
	}
	res.SignIns = signInAll(rh.creds, 4, func(email, password string) SignIn {
		return bulkSignIn(ctx, t.SignIn, byEmail, email, password)
	})
	res.SignInsTitle = title(fmt.Sprintf("Sign-ins with old passwords (%s)", rh.known), res.SignIns, "worked")
	return res, nil
}

func bulkSignIn(ctx context.Context, si strategies.SignIner, byEmail map[string]bulk.Line, email, password string) SignIn {
	res := SignIn{Email: email}
	l, found := byEmail[strings.ToLower(email)]
	// Say why before asking the target when the run already knows this user cannot sign in.
	if res.Reason = cannotSignIn(l, found); res.Reason != "" {
		return res
	}
	if l.Outcome == strategies.OutcomeSkipped && l.UserID == "" {
		res.Reason = fmt.Sprintf("row %d skipped: %s", l.Row, l.Reason)
		return res
	}
	r, err := si.SignIn(ctx, email, password)
	switch {
	case err != nil:
		res.Reason = "sign-in could not be attempted: " + err.Error()
	case !r.OK && l.WithoutPassword:
		// The target's own reason first (Authgear's no_password), then the run's why.
		res.Reason = fmt.Sprintf("sign-in refused: %s; row %d %s (so the old password cannot work)", r.Reason, l.Row, l.Reason)
	case !r.OK:
		res.Reason = "sign-in refused: " + r.Reason
	default:
		res.OK = true
	}
	return res
}
