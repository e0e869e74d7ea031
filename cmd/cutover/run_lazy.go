package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/lazy"
)

// runLazyPlan is what 'cutover run' does with a lazy plan: nothing by itself, since a
// lazy migration is a service plus a final sweep; it says which commands do the work.
func runLazyPlan(ctx context.Context, a *app, p *strategies.Plan, f runFlags) error {
	return exitError{exitUsage, fmt.Errorf(`%s: a lazy plan is not run in one go: start 'cutover bridge --plan %[1]s' and point the IdP at it, `+
		`watch 'cutover status --plan %[1]s', and finish with 'cutover sweep --plan %[1]s' (which takes --dry-run, --resume and --json); `+
		`'cutover rehearse --plan %[1]s' tries it all against the mock IdP (see 'cutover bridge --help')`, p.File)}
}

// rehearseLazy rehearses a lazy plan: the bridge and the mock IdP (its hook pointed at
// the bridge) run in-process; every known-password user signs in through them, then a
// sweep imports everyone else into the same mock IdP, and the report accounts for all.
func rehearseLazy(ctx context.Context, a *app, p *strategies.Plan, known string, asJSON bool) error {
	rh, err := newRehearsal(p, known)
	if err != nil {
		return err
	}
	defer rh.close()
	creds, tmp, rp, profile := rh.creds, rh.tmp, rh.plan, rh.profile
	// A temporary store, the form dialect the mock IdP speaks, and a secret made up for
	// the occasion.
	rp.Lazy.Store = filepath.Join(tmp, "lazy.db")
	rp.Lazy.Dialect = strategies.DialectAuthproject
	rp.Lazy.TLSCert, rp.Lazy.TLSKey = "", ""
	if p.Lazy.Dialect != "" && p.Lazy.Dialect != strategies.DialectAuthproject {
		fmt.Fprintf(a.stderr, "The mock IdP calls the bridge with the authproject form protocol; the plan's %s dialect runs on the same core.\n", p.Lazy.Dialect)
	}
	quiet := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	secret := rand.Text()
	b, err := lazy.New(ctx, lazy.Config{Plan: &rp, Secret: secret, Log: quiet})
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("rehearse: start the bridge: %w", err)
	}
	bctx, stopBridge := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- b.Serve(bctx, ln) }()
	defer func() { stopBridge(); <-served }()

	srv, err := mockidp.New(mockidp.Config{Profile: profile, Logger: quiet,
		LazyHook: mockidp.LazyHook{URL: "http://" + ln.Addr().String() + lazy.PathVerify, Secret: secret, Timeout: 30 * time.Second}})
	if err != nil {
		return fmt.Errorf("rehearse: start the mock IdP: %w", err)
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return fmt.Errorf("rehearse: start the mock IdP: %w", err)
	}
	if err := srv.Start(mln); err != nil {
		srv.Close()
		return err
	}
	defer srv.Close()
	info := srv.Config()

	ins, err := lazySignIns(ctx, b, info.Issuer, creds)
	if err != nil {
		return err
	}

	c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey, Log: a.log})
	if err != nil {
		return err
	}
	tgt := &bulk.Target{Importer: &idp.MockClient{Client: c}, Profile: profile, Name: "mockidp-" + profile, URL: info.Issuer}
	r := &bulk.Runner{Log: a.log, OpenTarget: func(context.Context, *strategies.Plan) (*bulk.Target, error) { return tgt, nil }}
	var progress func(strategies.Progress)
	if !asJSON {
		progress = progressPrinter(a.stderr, 3*time.Second)
	}
	rep, err := lazy.Sweep(ctx, &rp, b.Store(), r, strategies.RunOptions{Progress: progress})
	if err != nil {
		return err
	}
	rep.RunDir, rep.Files = "", nil // the records were temporary
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rehearsal{Report: rep, Profile: profile, SignIns: ins}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "Lazy rehearsal: %d known users signed in through the bridge, then a sweep imported the rest.\n\n", len(creds))
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

// lazySignIns signs each known user in at the mock IdP (whose hook asks the bridge),
// verifies the ID token, and signs in a second time, which must not need the bridge.
func lazySignIns(ctx context.Context, b *lazy.Bridge, issuer string, creds [][2]string) ([]signIn, error) {
	return signInAll(ctx, issuer, creds, func(conf *oauth2.Config, v *oidc.IDTokenVerifier, email, password string) signIn {
		return lazySignInOne(ctx, b, conf, v, email, password)
	})
}

func lazySignInOne(ctx context.Context, b *lazy.Bridge, conf *oauth2.Config, v *oidc.IDTokenVerifier, email, password string) signIn {
	res := signIn{Email: email}
	tok, err := conf.PasswordCredentialsToken(ctx, email, password)
	if err != nil {
		// Say why, from what the legacy source holds (the IdP only says no).
		u, lerr := b.Lookup(ctx, email)
		switch {
		case lerr != nil:
			res.Reason = "sign-in refused; the legacy source cannot be asked: " + lerr.Error()
		case u == nil:
			res.Reason = "sign-in refused: not in the source, disabled, or without a usable password hash"
		default:
			res.Reason = "sign-in refused: " + oauthReason(err) + " (the legacy hash does not match this password)"
		}
		return res
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		res.Reason = "the token response has no id_token"
		return res
	}
	if _, err := v.Verify(ctx, raw); err != nil {
		res.Reason = "the ID token does not verify: " + err.Error()
		return res
	}
	// The IdP now has the user: a second sign-in must work on its own.
	if _, err := conf.PasswordCredentialsToken(ctx, email, password); err != nil {
		res.Reason = "the second sign-in (the IdP on its own) failed: " + oauthReason(err)
		return res
	}
	res.OK = true
	return res
}
