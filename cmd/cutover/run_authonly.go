package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/authonly/middleware"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
)

// authonlyOutput is the --json output of `cutover run` for an authonly plan.
type authonlyOutput struct {
	*strategies.Report
	WriteBack authonly.WriteBack `json:"write_back"`
}

// runAuthOnlyPlan is what 'cutover run' does with an authonly plan: import identifiers,
// then write IdP ids back (or, with --dry-run, print the migration and the counts).
func runAuthOnlyPlan(ctx context.Context, a *app, p *strategies.Plan, f runFlags) error {
	r := &authonly.Runner{OpenTarget: targetOpener(a), Log: a.log}
	res, err := r.Execute(ctx, p, strategies.RunOptions{
		DryRun: f.dryRun, Resume: f.resume, OnlyFailed: f.onlyFailed,
		Progress: progressPrinter(a.stderr, 3*time.Second),
	})
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(authonlyOutput{Report: res.Report, WriteBack: res.WriteBack}); err != nil {
			return err
		}
		return reportExit(res.Report)
	}
	if err := printReport(a.stdout, res.Report, false); err != nil {
		return err
	}
	printWriteBack(a.stdout, &res.WriteBack)
	return reportExit(res.Report)
}

// printWriteBack prints the write-back: the DDL (run, or to run) and the counts.
func printWriteBack(w io.Writer, wb *authonly.WriteBack) {
	fmt.Fprintf(w, "\n### Write-back\n\n")
	if len(wb.DDL) > 0 {
		verb := "Ran"
		if wb.DryRun {
			verb = "Would run"
		}
		fmt.Fprintf(w, "%s:\n\n```sql\n%s;\n```\n\n", verb, strings.Join(wb.DDL, ";\n"))
	}
	switch {
	case wb.DryRun:
		fmt.Fprintf(w, "%d rows would get their IdP user id in %s.\n", wb.Rows, wb.Into)
	case wb.MappingFile != "":
		fmt.Fprintf(w, "%d legacy id -> IdP user id pairs written to %s.\n", wb.Rows, wb.MappingFile)
	default:
		fmt.Fprintf(w, "%d rows with an IdP id in %s: %d updated, %d already held it (%.0f rows/s).\n",
			wb.Rows, wb.Into, wb.Updated, wb.Unchanged, wb.Rate)
	}
}

// authonlyRehearsal is the --json output of `cutover rehearse` for an authonly plan.
type authonlyRehearsal struct {
	*strategies.Report
	Profile   string             `json:"profile"`
	WriteBack authonly.WriteBack `json:"write_back"`
	SignIns   []signIn           `json:"sign_ins"`
}

// rehearseSample is how many users sign in when no known-users file is given.
const rehearseSample = 5

// rehearseAuthOnly rehearses an authonly plan against an in-process mock IdP: import,
// write-back into a copy (SQLite) or a shadow table (other sources), then users sign in
// with one-time codes and call the example app's protected route with their token,
// which must resolve to their own legacy row. The legacy database is never written.
func rehearseAuthOnly(ctx context.Context, a *app, p *strategies.Plan, known string, asJSON bool) error {
	rh, err := newRehearsal(p, known)
	if err != nil {
		return err
	}
	defer rh.close()
	creds, tmp, rp, profile := rh.creds, rh.tmp, rh.plan, rh.profile
	r := &authonly.Runner{Log: a.log}
	if p.Source.Kind == strategies.SourceSQLite {
		// Write back into a copy: the rehearsal proves the migration on the real schema.
		src, err := p.Resolve("source.path", p.Source.Path)
		if err != nil {
			return err
		}
		cp := filepath.Join(tmp, "legacy.db")
		if err := copyFile(src, cp); err != nil {
			return fmt.Errorf("rehearse: copy the legacy database: %w", err)
		}
		rp.Source.Path = cp
	} else {
		r.MappingFile = filepath.Join(tmp, "ids.csv")
	}
	idpSrv, tgt, err := startRehearsalIdP(profile, a)
	if err != nil {
		return err
	}
	defer idpSrv.Close()
	r.OpenTarget = func(context.Context, *strategies.Plan) (*bulk.Target, error) {
		t := *tgt
		t.Close = nil
		return &t, nil
	}
	var progress func(strategies.Progress)
	if !asJSON {
		progress = progressPrinter(a.stderr, 3*time.Second)
	}
	res, err := r.Execute(ctx, &rp, strategies.RunOptions{Progress: progress})
	if err != nil {
		return err
	}
	rep := res.Report
	runDir := rep.RunDir
	rep.RunDir, rep.Files = "", nil

	store, closeStore, err := rehearsalStore(ctx, &rp, runDir, tmp)
	if err != nil {
		return err
	}
	defer closeStore()
	h, err := exampleHandler(ctx, store, tgt.URL, "", mockidp.ClientID, secretColumns(p), a.log)
	if err != nil {
		return fmt.Errorf("rehearse: start the example app: %w", err)
	}
	appSrv := httptest.NewServer(h)
	defer appSrv.Close()

	byEmail, err := outcomeByEmail(runDir)
	if err != nil {
		return err
	}
	emails := make([]string, 0, len(creds))
	for _, c := range creds {
		emails = append(emails, c[0])
	}
	if len(emails) == 0 {
		emails = sampleEmails(runDir, rehearseSample)
	}
	ins := make([]signIn, 0, len(emails))
	for _, e := range emails {
		ins = append(ins, authonlySignIn(ctx, idpSrv.Config(), appSrv.URL, store, byEmail, e))
	}
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(authonlyRehearsal{Report: rep, Profile: profile, WriteBack: res.WriteBack, SignIns: ins}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "Rehearsal of an authonly cutover against the mock IdP (profile %s)\n\n", profile)
		io.WriteString(a.stdout, bulk.Summary(rep))
		printWriteBack(a.stdout, &res.WriteBack)
		ok := 0
		for _, s := range ins {
			if s.OK {
				ok++
			}
		}
		fmt.Fprintf(a.stdout, "\nSign-ins with one-time codes, then GET /protected on the example app: %d of %d resolved the right local user\n", ok, len(ins))
		for _, s := range ins {
			if s.OK {
				fmt.Fprintf(a.stdout, "  ok    %s\n", s.Email)
			} else {
				fmt.Fprintf(a.stdout, "  FAIL  %s: %s\n", s.Email, s.Reason)
			}
		}
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

// rehearsalStore is the users table the example app runs on: the written-back copy of
// an SQLite source, or a shadow SQLite table (legacy key, email, IdP id) built from the
// run's outcomes for other sources, whose real tables a rehearsal must not write.
func rehearsalStore(ctx context.Context, rp *strategies.Plan, runDir, tmp string) (*middleware.SQLStore, func(), error) {
	if rp.Source.Kind == strategies.SourceSQLite {
		tbl, err := authonly.OpenTable(ctx, rp)
		if err != nil {
			return nil, nil, err
		}
		return exampleStore(tbl, rp), func() { tbl.Close() }, nil
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(tmp, "shadow.db"))
	if err != nil {
		return nil, nil, fmt.Errorf("rehearse: shadow table: %w", err)
	}
	db.SetMaxOpenConns(1)
	fail := func(err error) (*middleware.SQLStore, func(), error) {
		db.Close()
		return nil, nil, fmt.Errorf("rehearse: shadow table: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE users (legacy_id TEXT PRIMARY KEY, email TEXT, idp_user_id TEXT)`); err != nil {
		return fail(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	err = bulk.EachFinal(runDir, func(l *bulk.Line) error {
		if l.LegacyID == "" {
			return nil
		}
		var id any
		if l.UserID != "" && l.Outcome != strategies.OutcomeFailed && l.Outcome != strategies.OutcomeInvalid {
			id = l.UserID
		}
		_, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO users VALUES (?, ?, ?)`, l.LegacyID, l.Email, id)
		return err
	})
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fail(err)
	}
	return &middleware.SQLStore{DB: db, Dialect: strategies.SourceSQLite, Table: "users", Key: "legacy_id", IDColumn: "idp_user_id", EmailColumn: "email"},
		func() { db.Close() }, nil
}

// sampleEmails returns up to n emails of rows that got an IdP id.
func sampleEmails(runDir string, n int) []string {
	var out []string
	_ = bulk.EachFinal(runDir, func(l *bulk.Line) error {
		if len(out) < n && l.Email != "" && l.UserID != "" && l.Outcome != strategies.OutcomeFailed {
			out = append(out, l.Email)
		}
		return nil
	})
	return out
}

// authonlySignIn signs one user in with a one-time code and checks that the example
// app's protected route resolves the token to that user's legacy row.
func authonlySignIn(ctx context.Context, info mockidp.Info, appURL string, store *middleware.SQLStore, byEmail map[string]bulk.Line, email string) signIn {
	res := signIn{Email: email}
	l, found := byEmail[strings.ToLower(email)]
	if res.Reason = cannotSignIn(l, found); res.Reason != "" {
		return res
	}
	if l.UserID == "" {
		res.Reason = fmt.Sprintf("row %d %s without an IdP user id: %s", l.Row, l.Outcome, l.Reason)
		return res
	}
	adm, err := info.AdminToken(time.Now(), 5*time.Minute)
	if err != nil {
		res.Reason = "cannot sign an admin token: " + err.Error()
		return res
	}
	tok, err := authonly.OTPSignIn(ctx, nil, info.Issuer, adm, mockidp.ClientID, l.UserID, email)
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, appURL+"/protected", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		res.Reason = "call the example app: " + err.Error()
		return res
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		res.Reason = fmt.Sprintf("the example app answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
		return res
	}
	var ans exampleAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		res.Reason = "the example app's answer is not JSON: " + err.Error()
		return res
	}
	if got := fmt.Sprint(ans.User[store.Key]); got != l.LegacyID {
		res.Reason = fmt.Sprintf("the token resolved to local user %s=%s, want %s (row %d)", store.Key, got, l.LegacyID, l.Row)
		return res
	}
	if got := fmt.Sprint(ans.User[store.IDColumn]); got != l.UserID {
		res.Reason = fmt.Sprintf("the local user's %s is %s, want the IdP id %s", store.IDColumn, got, l.UserID)
		return res
	}
	res.OK = true
	return res
}

// copyFile copies src to dst (0600).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// startRehearsalIdP starts an in-memory mock IdP on a loopback port and returns it with
// a target importing into it (the server is needed for one-time codes).
func startRehearsalIdP(profile string, a *app) (*mockidp.Server, *bulk.Target, error) {
	s, err := mockidp.New(mockidp.Config{Profile: profile})
	if err != nil {
		return nil, nil, fmt.Errorf("start the mock IdP: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("start the mock IdP: %w", err)
	}
	if err := s.Start(ln); err != nil {
		s.Close()
		return nil, nil, err
	}
	info := s.Config()
	c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey, Log: a.log})
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, &bulk.Target{Importer: &idp.MockClient{Client: c}, Profile: profile, Name: "mockidp-" + profile, URL: info.Issuer}, nil
}
