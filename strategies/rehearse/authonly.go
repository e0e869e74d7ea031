package rehearse

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/authonly/middleware"
	"github.com/cutover/cutover/strategies/bulk"
)

// authonlySample is how many users sign in when no known-users file is given.
const authonlySample = 5

// rehearseAuthOnly rehearses an authonly plan: import, write-back into a copy (SQLite)
// or a mapping file (other sources), then users sign in with one-time codes and call
// the example app's protected route with their token, which must resolve to their own
// legacy row. The legacy database is never written.
func rehearseAuthOnly(ctx context.Context, rh *rehearsal) (*Result, error) {
	rp := &rh.plan
	r := &authonly.Runner{Log: rh.cfg.Log}
	if rp.Source.Kind == strategies.SourceSQLite {
		// Write back into a copy: the rehearsal proves the migration on the real schema.
		src, err := rp.Resolve("source.path", rp.Source.Path)
		if err != nil {
			return nil, err
		}
		cp := filepath.Join(rh.tmp, "legacy.db")
		if err := copyFile(src, cp); err != nil {
			return nil, fmt.Errorf("rehearse: copy the legacy database: %w", err)
		}
		rp.Source.Path = cp
	} else {
		r.MappingFile = filepath.Join(rh.tmp, "ids.csv")
	}
	t, open, err := rh.open(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer t.close()
	r.OpenTarget = open
	run, err := r.Execute(ctx, rp, strategies.RunOptions{Progress: rh.cfg.Progress})
	if err != nil {
		return nil, err
	}
	runDir := run.Report.RunDir

	store, closeStore, err := rehearsalStore(ctx, rp, runDir, rh.tmp)
	if err != nil {
		return nil, err
	}
	defer closeStore()
	h, err := ExampleApp(ctx, store, t.Issuer, "", t.ClientID, SecretColumns(rh.cfg.Plan), rh.cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("rehearse: start the example app: %w", err)
	}
	app := httptest.NewServer(h)
	defer app.Close()

	byEmail, err := outcomeByEmail(runDir)
	if err != nil {
		return nil, err
	}
	emails := make([]string, 0, len(rh.creds))
	for _, c := range rh.creds {
		emails = append(emails, c[0])
	}
	if len(emails) == 0 {
		emails = sampleEmails(runDir, authonlySample)
	}
	ins := make([]SignIn, 0, len(emails))
	for _, e := range emails {
		ins = append(ins, authonlySignIn(ctx, t.Codes, app.URL, store, byEmail, e))
	}
	return &Result{Report: run.Report, Profile: t.Bulk.Hashes.Name(), WriteBack: &run.WriteBack, SignIns: ins,
		Headline:     fmt.Sprintf("Rehearsal of an authonly cutover against %s (profile %s)", t.Name, t.Bulk.Hashes.Name()),
		SignInsTitle: title("Sign-ins with one-time codes, then GET /protected on the example app", ins, "resolved the right local user")}, nil
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
		return ExampleStore(tbl, rp), func() { tbl.Close() }, nil
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(tmp, "shadow.db"))
	if err != nil {
		return nil, nil, fmt.Errorf("rehearse: shadow table: %w", err)
	}
	db.SetMaxOpenConns(1)
	if err := fillShadow(ctx, db, runDir); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("rehearse: shadow table: %w", err)
	}
	return &middleware.SQLStore{DB: db, Dialect: strategies.SourceSQLite, Table: "users", Key: "legacy_id", IDColumn: "idp_user_id", EmailColumn: "email"},
		func() { db.Close() }, nil
}

// fillShadow writes one shadow row per input row: the IdP id only where the row got one.
func fillShadow(ctx context.Context, db *sql.DB, runDir string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE users (legacy_id TEXT PRIMARY KEY, email TEXT, idp_user_id TEXT)`); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
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
	if err != nil {
		return err
	}
	return tx.Commit()
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
func authonlySignIn(ctx context.Context, codes CodeSignIner, appURL string, store *middleware.SQLStore, byEmail map[string]bulk.Line, email string) SignIn {
	res := SignIn{Email: email}
	l, found := byEmail[strings.ToLower(email)]
	if res.Reason = cannotSignIn(l, found); res.Reason != "" {
		return res
	}
	if l.UserID == "" {
		res.Reason = fmt.Sprintf("row %d %s without an IdP user id: %s", l.Row, l.Outcome, l.Reason)
		return res
	}
	if codes == nil {
		res.Reason = "the target hands out no one-time codes, so a user without a password cannot sign in here"
		return res
	}
	tok, err := codes.SignInWithCode(ctx, l.UserID, email)
	if err != nil {
		res.Reason = err.Error()
		return res
	}
	ans, err := callProtected(ctx, appURL, tok)
	if err != nil {
		res.Reason = err.Error()
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

// callProtected calls the example app's protected route with an access token.
func callProtected(ctx context.Context, appURL, token string) (*ExampleAnswer, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, appURL+"/protected", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call the example app: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the example app answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var ans ExampleAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("the example app's answer is not JSON: %w", err)
	}
	return &ans, nil
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
