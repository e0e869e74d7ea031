package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
)

// TestGate is issue 12's list of plans `cutover run` carried out silently: each is
// stopped by Gate with a typed error, and plan check's report (Run) says the same.
func TestGate(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	good := fmt.Sprintf("id,email,name,passwd,phone\n1,a@x.io,A,%s,+15550000001\n2,b@x.io,B,%s,+15550000002\n", hash, hash)
	with := func(edit func(m *strategies.Mapping)) strategies.Mapping {
		m := strategies.Mapping{LegacyID: col("id"), Email: col("email"), Name: col("name"), PasswordHash: col("passwd")}
		edit(&m)
		return m
	}
	tests := []struct {
		name     string
		csv      string
		mapping  strategies.Mapping
		wantCode strategies.Code
		want     []string
	}{
		{"password column typo", good, with(func(m *strategies.Mapping) { m.PasswordHash = col("password") }), strategies.CodePlan,
			[]string{"plan.yaml", "mapping.password_hash", `"password"`, "email, id, name, passwd, phone"}},
		{"identifier typo", good, with(func(m *strategies.Mapping) { m.Email = col("mail") }), strategies.CodePlan,
			[]string{"mapping.email", `"mail"`, "the source has email, id, name"}},
		{"absent optional column", good, with(func(m *strategies.Mapping) { m.Name = col("full_name") }), strategies.CodePlan,
			[]string{"mapping.name", `"full_name"`}},
		{"password column with no hash", "id,email,name,passwd\n1,a@x.io,A,\n2,b@x.io,B,\n", with(func(*strategies.Mapping) {}), strategies.CodePlan,
			[]string{"mapping.password_hash", `"passwd" holds no password hash in any of the 2 rows`, "password_format: none"}},
		{"header-only file", "id,email,name,passwd\n", with(func(*strategies.Mapping) {}), strategies.CodeNothingToImport,
			[]string{"the source has no rows"}},
		{"every row invalid", "id,email,name,passwd\n1,nope,A,\n2,,B,\n", with(func(m *strategies.Mapping) { m.PasswordHash = strategies.FieldRef{} }), strategies.CodeNothingToImport,
			[]string{"no row is valid", "invalid_email", "row 1 email"}},
		{"invalid optional phone is no blocker", good, with(func(m *strategies.Mapping) { m.PhoneNumber = col("phone") }), "", nil},
		{"no passwords on purpose", "id,email,name,passwd\n1,a@x.io,A,\n", with(func(m *strategies.Mapping) { m.PasswordFormat = strategies.PasswordFormatNone }), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := csvPlan(t, tt.csv, tt.mapping)
			err := Gate(context.Background(), p, Options{})
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("Gate: got %v, want nil", err)
				}
				return
			}
			if strategies.CodeOf(err) != tt.wantCode {
				t.Fatalf("Gate: got %v (code %q), want code %s", err, strategies.CodeOf(err), tt.wantCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Gate: got %q, want it to contain %q", err, w)
				}
			}
			r, rerr := Run(context.Background(), p, Options{})
			if rerr != nil {
				t.Fatalf("Run: %v", rerr)
			}
			if r.CanRun || len(r.Blockers) == 0 || !strings.Contains(err.Error(), r.Blockers[0]) {
				t.Errorf("plan check: got blockers %q, want the gate's message %q", r.Blockers, err)
			}
		})
	}
}

// TestGatePointsAtThePlanLine: a loaded plan's mistake names its line.
func TestGatePointsAtThePlanLine(t *testing.T) {
	p := csvPlan(t, "id,email\n1,a@x.io\n", strategies.Mapping{})
	yaml := "version: 1\nstrategy: bulk\nsource: {kind: csv, path: users.csv}\nmapping:\n  email: email\n  name: full_name\ntarget: {kind: mockidp}\n"
	loaded, err := strategies.ParsePlan(p.File, []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	loaded.File = p.File
	err = Gate(context.Background(), loaded, Options{})
	var e *strategies.Error
	if !errors.As(err, &e) || e.Line != 6 || !strings.Contains(err.Error(), "plan.yaml:6: mapping.name") {
		t.Errorf("got %v, want plan.yaml:6: mapping.name ...", err)
	}
}

// TestGateSamples: the gate reads GateSample rows, not the whole source.
func TestGateSamples(t *testing.T) {
	var b strings.Builder
	b.WriteString("id,email\n")
	for i := range GateSample + 500 {
		fmt.Fprintf(&b, "%d,u%d@x.io\n", i, i)
	}
	r, err := Run(context.Background(), csvPlan(t, b.String(), strategies.Mapping{Email: col("email")}), Options{Limit: GateSample})
	if err != nil || r.Rows != GateSample || !r.Sampled {
		t.Errorf("got %d rows sampled=%v (%v), want %d sampled", r.Rows, r.Sampled, err, GateSample)
	}
}

func col(c string) strategies.FieldRef { return strategies.FieldRef{Column: c} }
