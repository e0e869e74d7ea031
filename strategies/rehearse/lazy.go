package rehearse

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/lazy"
)

// rehearseLazy rehearses a lazy plan: the bridge starts, the target is opened with its
// hook pointed at the bridge, every known user signs in through them (migrating on the
// first sign-in, then once more on the target's own), and a sweep imports everyone else
// into the same target; the report accounts for all.
//
// The bridge records verifications in a temporary store, never the plan's lazy.store: a
// rehearsal must leave nothing that 'cutover status' or 'cutover sweep' would later count
// as migrated.
func rehearseLazy(ctx context.Context, rh *rehearsal) (*Result, error) {
	rp := &rh.plan
	rp.Lazy.Store = filepath.Join(rh.tmp, "lazy.db")
	rp.Lazy.TLSCert, rp.Lazy.TLSKey = "", ""
	var notes []string
	if d := rh.cfg.Plan.Lazy.Dialect; d != "" && d != strategies.DialectAuthproject {
		notes = append(notes, fmt.Sprintf("The target calls the bridge with the authproject form protocol; the plan's %s dialect runs on the same core.", d))
	}
	rp.Lazy.Dialect = strategies.DialectAuthproject
	// A secret made up for the occasion: the plan's may be an unset ${VAR}.
	secret := rand.Text()
	b, err := lazy.New(ctx, lazy.Config{Plan: rp, Secret: secret, Log: rh.cfg.ServiceLog})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rehearse: start the bridge: %w", err)
	}
	bctx, stopBridge := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- b.Serve(bctx, ln) }()
	defer func() { stopBridge(); <-served }()

	t, open, err := rh.open(ctx, &Hook{URL: "http://" + ln.Addr().String() + lazy.PathVerify, Secret: secret})
	if err != nil {
		return nil, err
	}
	defer t.close()
	bridgeURL := "http://" + ln.Addr().String() + lazy.PathVerify
	progress := rh.cfg.Progress
	if progress == nil {
		progress = func(strategies.Progress) {}
	}
	progress(strategies.Progress{Phase: PhaseBridge, Unit: "sign-ins", Total: int64(len(rh.creds)),
		Note: "the bridge checks legacy passwords at " + bridgeURL + "; " + t.Name + " calls it for every user it does not know yet"})
	// Paced to what the bridge verifies at once: a burst beyond its slots would queue
	// past the target's hook timeout, and the target reports that as a server error, not
	// as the password the rehearsal is about (issue 13, item 5).
	count := signInCounter(len(rh.creds), progress)
	ins := signInAll(rh.creds, b.Stats().Capacity, func(email, password string) SignIn {
		s := lazySignIn(ctx, b, t.SignIn, email, password)
		count(s.OK)
		return s
	})
	r := &bulk.Runner{Log: rh.cfg.Log, OpenTarget: open}
	rep, err := lazy.Sweep(ctx, rp, b.Store(), r, strategies.RunOptions{Progress: func(p strategies.Progress) {
		p.Phase = PhaseSweep + ": " + p.Phase
		p.Note = "whoever never signed in is imported now (for real, 'cutover sweep' weeks later); the users migrated above are skipped as migrated_lazily"
		progress(p)
	}})
	if err != nil {
		return nil, err
	}
	res := &Result{Report: rep, Profile: t.Bulk.Hashes.Name(), SignIns: ins, Notes: notes,
		SignInsTitle: title(fmt.Sprintf("Sign-ins with old passwords (%s)", rh.known), ins, "worked")}
	res.Headline = fmt.Sprintf("Lazy rehearsal: %d of %d known users signed in through the bridge (each moving to the IdP at that first sign-in), then a sweep imported the rest.",
		res.SignedIn(), len(ins))
	if len(ins) == 0 {
		why := fmt.Sprintf("no --passwords, no %s beside the plan or the source", KnownPasswordsFile)
		if rh.known != "" {
			why = rh.known + " lists nobody"
		}
		res.Headline = fmt.Sprintf("Lazy rehearsal: no known passwords (%s), so nobody signed in through the bridge; a sweep imported everyone.", why)
	}
	res.Headline += fmt.Sprintf("\n\nRehearsal against %s (profile %s)", t.Name, t.Bulk.Hashes.Name())
	res.NextSteps = rehearsedSteps(rep.NextSteps, rh.cfg.Plan)
	return res, nil
}

// rehearsedSteps are a lazy rehearsal's next steps: the sweep's, less its advice to
// switch off a hook that only the rehearsal's mock had, and how to do it for real.
func rehearsedSteps(steps []string, p *strategies.Plan) []string {
	out := slices.DeleteFunc(slices.Clone(steps), func(s string) bool { return strings.Contains(s, "turn the IdP's migration hook off") })
	f, first := planName(p), ""
	if p.Lazy.Secret == "" && !p.Lazy.NoAuth {
		first = fmt.Sprintf("add 'secret: ${BRIDGE_SECRET}' under 'lazy:' in %s and export BRIDGE_SECRET (the IdP must send it), then ", f)
	}
	return append(out, fmt.Sprintf("for real: %sstart 'cutover bridge --plan %s' and point the IdP's migration hook at it, watch 'cutover status --plan %[2]s', and finish with 'cutover sweep --plan %[2]s'", first, f))
}

// The phases a lazy rehearsal reports through Config.Progress, in order.
const (
	PhaseBridge  = "bridge up"
	PhaseSignIns = "sign-ins through the bridge"
	PhaseSweep   = "sweep"
)

// signInCounter returns what to call after each sign-in: it reports the sign-ins so far
// as they arrive, so a screen shows users migrating one by one.
func signInCounter(total int, progress func(strategies.Progress)) func(ok bool) {
	var mu sync.Mutex
	var migrated, refused int64
	start := time.Now()
	return func(ok bool) {
		mu.Lock()
		defer mu.Unlock()
		if ok {
			migrated++
		} else {
			refused++
		}
		done := migrated + refused
		p := strategies.Progress{Phase: PhaseSignIns, Unit: "sign-ins", Total: int64(total), Done: done,
			Counts: map[strategies.Outcome]int64{OutcomeMigrated: migrated, OutcomeRefused: refused},
			Note:   "each known user signs in with the old password; the IdP asks the bridge, which checks the legacy hash, and keeps the user: migrated"}
		if s := time.Since(start).Seconds(); s > 0 {
			p.Rate = float64(done) / s
			p.ETA = time.Duration(float64(int64(total)-done) / p.Rate * float64(time.Second))
		}
		progress(p)
	}
}

// Counts of the sign-in phase: migrated through the bridge, or refused.
const (
	OutcomeMigrated strategies.Outcome = "migrated"
	OutcomeRefused  strategies.Outcome = "refused"
)

// lazySignIn signs one known user in at the target (whose hook asks the bridge), then a
// second time, which must work without the bridge. A refusal is explained from what
// the legacy source holds: the target only says no.
func lazySignIn(ctx context.Context, b *lazy.Bridge, si strategies.SignIner, email, password string) SignIn {
	res := SignIn{Email: email}
	r, err := si.SignIn(ctx, email, password)
	if err != nil {
		res.Reason = "sign-in could not be attempted: " + err.Error()
		return res
	}
	if !r.OK {
		u, lerr := b.Lookup(ctx, email)
		switch {
		case lerr != nil:
			res.Reason = "sign-in refused; the legacy source cannot be asked: " + lerr.Error()
		case u == nil:
			res.Reason = "sign-in refused: not in the source, disabled, or without a usable password hash"
		default:
			res.Reason = "sign-in refused: " + r.Reason + " (the legacy hash does not match this password)"
		}
		return res
	}
	// The target now has the user: a second sign-in must work on its own.
	if r, err := si.SignIn(ctx, email, password); err != nil || !r.OK {
		res.Reason = "the second sign-in (the target on its own) failed: " + r.Reason
		if err != nil {
			res.Reason += err.Error()
		}
		return res
	}
	res.OK = true
	return res
}

// LazyReport is a lazy rehearsal's report with the sign-ins said in its first next
// step: the wizard shows a lazy rehearsal as the run it stands for. The sweep's advice
// for a real cutover (turn the hook off, stop the bridge) is left out: nothing of the
// rehearsal is running any more.
func (r *Result) LazyReport() *strategies.Report {
	note := fmt.Sprintf("rehearsed in memory: %d of %d known users signed in through the bridge and were migrated one by one; the sweep then imported the %d others",
		r.SignedIn(), len(r.SignIns), r.Inserted+r.Updated)
	if len(r.SignIns) == 0 {
		note = "rehearsed in memory: no known-passwords.csv beside the plan or source, so nobody signed in through the bridge; the sweep imported everyone"
	}
	steps := []string{note}
	for _, s := range r.NextSteps {
		if !strings.HasPrefix(s, "every legacy user is now at the IdP") {
			// Bulk's advice; this is the lazy strategy already.
			s = strings.Replace(s, "the lazy strategy would keep their passwords", "running the bridge longer before the sweep lets more of them keep theirs", 1)
			steps = append(steps, s)
		}
	}
	r.NextSteps = steps
	return r.Report
}
