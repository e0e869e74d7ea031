package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
)

// KnownPasswordsFile is looked for beside the plan and the source when --passwords is
// not given; the bundled demo database ships one.
const KnownPasswordsFile = "known-passwords.csv"

// signIn is the result of one rehearsal sign-in.
type signIn struct {
	Email  string `json:"email"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// rehearsal is the --json output of `cutover rehearse`.
type rehearsal struct {
	*strategies.Report
	Profile string   `json:"profile"`
	SignIns []signIn `json:"sign_ins"`
}

func newRehearseCmd(a *app) *cobra.Command {
	var planPath, known string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "rehearse --plan FILE",
		Short: "Run a plan against an in-process mock IdP and prove users can sign in",
		Long: `Rehearse the whole cutover without touching the real target, against a fresh
in-process mock IdP (the plan's target.profile; an authgear target is rehearsed with
the authgear profile, which takes bcrypt hashes only) over loopback HTTP:

  bulk      the import runs into the mock IdP, then every user in the known-passwords
            file (CSV: email,password) signs in with their old password (OAuth 2.0
            password grant) and each ID token is checked with a standard OIDC verifier
  lazy      the bridge starts with the mock IdP's hook pointed at it; the known users
            sign in (migrating on first sign-in), then a sweep moves everyone else
  authonly  identifiers are imported and the ids written back (into a copy; the legacy
            database is never written), users sign in with a one-time code, and the
            example app's protected route must resolve the right local user

A user who cannot sign in is reported with the reason: not in the source, invalid,
failed or skipped (with the row's reason), imported without a password because the
target cannot take its hash format, or the IdP's answer.

Without --passwords, a known-passwords.csv beside the plan or the source is used.
Nothing is written to the real target; run records go to a temporary directory.
Exit codes: 0 all sign-ins worked and no row failed, 3 some did not, 1 the
rehearsal could not run.`,
		Example: `  cutover rehearse --plan cutover.yaml --passwords known.csv
  cutover rehearse --plan cutover.yaml --json | jq '.sign_ins[] | select(.ok | not)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return rehearse(cmd.Context(), a, planPath, known, asJSON)
		},
	}
	cmd.Flags().StringVar(&planPath, "plan", "", "the plan to rehearse (required)")
	cmd.Flags().StringVar(&known, "passwords", "", "CSV of email,password for users to sign in as")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object: the run's counts and sign_ins")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

func rehearse(ctx context.Context, a *app, planPath, known string, asJSON bool) error {
	p, err := strategies.LoadPlan(planPath)
	if err != nil {
		return err
	}
	switch p.Strategy {
	case strategies.StrategyLazy:
		return rehearseLazy(ctx, a, p, known, asJSON)
	case strategies.StrategyAuthOnly:
		return rehearseAuthOnly(ctx, a, p, known, asJSON)
	}
	rh, err := newRehearsal(p, known)
	if err != nil {
		return err
	}
	defer rh.close()
	creds, tmp, rp, profile := rh.creds, rh.tmp, rh.plan, rh.profile
	tgt, err := startMockTarget(profile, "", "", a)
	if err != nil {
		return err
	}
	defer tgt.Close()
	r := &bulk.Runner{Log: a.log, OpenTarget: func(context.Context, *strategies.Plan) (*bulk.Target, error) {
		t := *tgt
		t.Close = nil // closed here, after the sign-ins
		return &t, nil
	}}
	var progress func(strategies.Progress)
	if !asJSON {
		progress = progressPrinter(a.stderr, 3*time.Second)
	}
	rep, err := r.Run(ctx, &rp, strategies.RunOptions{Progress: progress})
	if err != nil {
		return err
	}
	rep.RunDir, rep.Files = "", nil // the records were temporary
	ins, err := signIns(ctx, tgt.URL, rep, tmp, creds)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rehearsal{Report: rep, Profile: profile, SignIns: ins}); err != nil {
			return err
		}
	} else {
		printRehearsal(a.stdout, rep, profile, known, ins)
	}
	bad := rep.Failed > 0
	for _, s := range ins {
		bad = bad || !s.OK
	}
	if bad {
		return quietError{exitPartial}
	}
	return nil
}

// outcomeByEmail reads the rehearsal's outcome log: email (lower-case) -> final line.
func outcomeByEmail(dir string) (map[string]bulk.Line, error) {
	out := map[string]bulk.Line{}
	err := bulk.EachFinal(dir, func(l *bulk.Line) error {
		if l.Email != "" {
			out[strings.ToLower(l.Email)] = *l
		}
		return nil
	})
	return out, err
}

// signIns signs each known user in with the password grant and verifies the ID token.
func signIns(ctx context.Context, issuer string, rep *strategies.Report, tmp string, creds [][2]string) ([]signIn, error) {
	out := make([]signIn, len(creds))
	if len(creds) == 0 {
		return out, nil
	}
	runs, _ := filepath.Glob(filepath.Join(tmp, "runs", "*"))
	if len(runs) != 1 {
		return nil, fmt.Errorf("rehearse: expected one run directory, found %d", len(runs))
	}
	byEmail, err := outcomeByEmail(runs[0])
	if err != nil {
		return nil, err
	}
	return signInAll(ctx, issuer, creds, func(conf *oauth2.Config, v *oidc.IDTokenVerifier, email, password string) signIn {
		return signInOne(ctx, conf, v, byEmail, email, password)
	})
}

// signInAll signs every known user in at the mock IdP with the password grant, a few
// at a time, each through one, which says how it went.
func signInAll(ctx context.Context, issuer string, creds [][2]string, one func(conf *oauth2.Config, v *oidc.IDTokenVerifier, email, password string) signIn) ([]signIn, error) {
	out := make([]signIn, len(creds))
	if len(creds) == 0 {
		return out, nil
	}
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("rehearse: discover the mock IdP: %w", err)
	}
	conf := &oauth2.Config{ClientID: mockidp.ClientID, Endpoint: publicEndpoint(provider), Scopes: []string{oidc.ScopeOpenID, "email"}}
	v := provider.Verifier(&oidc.Config{ClientID: mockidp.ClientID})
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, c := range creds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = one(conf, v, c[0], c[1])
		}()
	}
	wg.Wait()
	return out, nil
}

// cannotSignIn says why the run's outcome line for a known-password user (found, or
// not) already rules the sign-in out: no row, or a row that was invalid or failed.
// "" means the IdP must be asked.
func cannotSignIn(l bulk.Line, found bool) string {
	switch {
	case !found:
		return "not in the source (no row with this email)"
	case l.Outcome == strategies.OutcomeInvalid || l.Outcome == strategies.OutcomeFailed:
		return fmt.Sprintf("row %d %s: %s", l.Row, l.Outcome, l.Reason)
	}
	return ""
}

func signInOne(ctx context.Context, conf *oauth2.Config, v *oidc.IDTokenVerifier, byEmail map[string]bulk.Line, email, password string) signIn {
	res := signIn{Email: email}
	l, found := byEmail[strings.ToLower(email)]
	// Say why before asking the IdP when the run already knows this user cannot sign in.
	if res.Reason = cannotSignIn(l, found); res.Reason != "" {
		return res
	}
	if l.Outcome == strategies.OutcomeSkipped && l.UserID == "" {
		res.Reason = fmt.Sprintf("row %d skipped: %s", l.Row, l.Reason)
		return res
	}
	tok, err := conf.PasswordCredentialsToken(ctx, email, password)
	if err != nil {
		res.Reason = "sign-in refused: " + oauthReason(err)
		if l.WithoutPassword {
			res.Reason = fmt.Sprintf("row %d %s (so the old password cannot work)", l.Row, l.Reason)
		}
		return res
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		res.Reason = "the token response has no id_token"
		return res
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		res.Reason = "the ID token does not verify: " + err.Error()
		return res
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err == nil && claims.Email != "" && !strings.EqualFold(claims.Email, email) {
		res.Reason = fmt.Sprintf("the ID token is for %s, not %s", claims.Email, email)
		return res
	}
	res.OK = true
	return res
}

func oauthReason(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorDescription != "" {
			return re.ErrorCode + ": " + re.ErrorDescription
		}
		if re.ErrorCode != "" {
			return re.ErrorCode
		}
	}
	return err.Error()
}

// rehearsalSetup is what every strategy's rehearsal starts from: the known passwords, a
// temporary directory, and a copy of the plan aimed at an in-process mock IdP with the
// plan's profile (an authgear target rehearses with the authgear profile), its run
// records in the temporary directory and emails in the outcome log, so that a failed
// sign-in can be explained.
type rehearsalSetup struct {
	creds   [][2]string
	tmp     string
	plan    strategies.Plan
	profile string
}

func newRehearsal(p *strategies.Plan, known string) (*rehearsalSetup, error) {
	if known == "" {
		known = findKnownPasswords(p)
	}
	var creds [][2]string
	if known != "" {
		var err error
		if creds, err = readKnownPasswords(known); err != nil {
			return nil, usageError{err}
		}
	}
	tmp, err := os.MkdirTemp("", "cutover-rehearse-")
	if err != nil {
		return nil, fmt.Errorf("rehearse: %w", err)
	}
	profile := p.Target.Profile
	if p.Target.Kind != strategies.TargetMockIDP || profile == "" {
		profile = strategies.ProfileAuthgear
	}
	rp := *p
	rp.Target = strategies.Target{Kind: strategies.TargetMockIDP, Profile: profile}
	rp.Bulk.RunDir = filepath.Join(tmp, "runs")
	rp.Bulk.LogEmails = true
	return &rehearsalSetup{creds: creds, tmp: tmp, plan: rp, profile: profile}, nil
}

func (r *rehearsalSetup) close() { os.RemoveAll(r.tmp) }

// findKnownPasswords looks for known-passwords.csv beside the plan and the source.
func findKnownPasswords(p *strategies.Plan) string {
	var dirs []string
	if p.File != "" {
		dirs = append(dirs, filepath.Dir(p.File))
	}
	if p.Source.Path != "" {
		if src, err := p.Resolve("source.path", p.Source.Path); err == nil {
			dirs = append(dirs, filepath.Dir(src))
		}
	}
	for _, d := range dirs {
		f := filepath.Join(d, KnownPasswordsFile)
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

// readKnownPasswords reads email,password pairs; a header row "email,password" is allowed.
func readKnownPasswords(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--passwords: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var out [][2]string
	for n := 1; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("%s:%d: want email,password; got %d field(s)", path, n, len(rec))
		}
		if n == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "email") {
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(rec[0]), rec[1]})
	}
}

func printRehearsal(w io.Writer, rep *strategies.Report, profile, known string, ins []signIn) {
	fmt.Fprintf(w, "Rehearsal against the mock IdP (profile %s)\n\n", profile)
	io.WriteString(w, bulk.Summary(rep))
	if known == "" {
		fmt.Fprintf(w, "\nNo sign-ins: give --passwords known.csv (email,password) to prove users can sign in.\n")
		return
	}
	ok := 0
	for _, s := range ins {
		if s.OK {
			ok++
		}
	}
	fmt.Fprintf(w, "\nSign-ins with old passwords (%s): %d of %d worked\n", known, ok, len(ins))
	for _, s := range ins {
		if s.OK {
			fmt.Fprintf(w, "  ok    %s\n", s.Email)
		} else {
			fmt.Fprintf(w, "  FAIL  %s: %s\n", s.Email, s.Reason)
		}
	}
}
