package sources

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// ldapPlan is a plan reading the people of d as its service account (the password
// through an environment variable, as a plan holds it).
func ldapPlan(t testing.TB, d *sourcetest.Directory, attrs ...string) *strategies.Plan {
	t.Setenv("CUTOVER_TEST_LDAP_PASSWORD", d.ReaderPassword)
	return &strategies.Plan{Source: strategies.SourceSpec{Kind: strategies.SourceLDAP, LDAP: &strategies.LDAPSource{
		URL: d.URL, BindDN: d.ReaderDN, BindPassword: "${CUTOVER_TEST_LDAP_PASSWORD}",
		BaseDN: "ou=people," + d.BaseDN, Filter: "(objectClass=inetOrgPerson)", Attributes: attrs, PageSize: 100,
	}}}
}

// usersLDIF writes n people uid=user<i> with mail user<i>@example.org.
func usersLDIF(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "dn: uid=user%d,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: user%d\ncn: User %d\nsn: %d\nmail: user%d@example.org\ntelephoneNumber: +44 20 7946 %04d\n\n", i, i, i, i, i, i%10000)
	}
	return b.String()
}

// TestLDAPAgreesWithLDIF reads a real directory live and from its slapcat export: the
// same people, in the same order, with the same attributes and values (base64-exported
// values, multi-valued attributes, memberOf kept by the overlay, password hashes).
func TestLDAPAgreesWithLDIF(t *testing.T) {
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{Seed: `dn: uid=ada,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ada
cn: Ada Lövelace
sn: Lovelace
givenName: Ada
description:: IGxlYWRpbmcgc3BhY2UgbWFrZXMgc2xhcGNhdCB3cml0ZSBiYXNlNjQ=
mail: ada@example.org
mail: countess@example.org
userPassword: {SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju

` + usersLDIF(30)})
	ctx := context.Background()
	admin, err := ldap.DialURL(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Bind(d.AdminDN, d.AdminPassword); err != nil {
		t.Fatal(err)
	}
	add := ldap.NewAddRequest("cn=admins,ou=groups,dc=example,dc=org", nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{"admins"})
	add.Attribute("member", []string{"uid=ada,ou=people,dc=example,dc=org", "uid=user7,ou=people,dc=example,dc=org"})
	if err := admin.Add(add); err != nil {
		t.Fatalf("add group: %v", err)
	}

	live, err := Open(ctx, ldapPlan(t, d, "*", "+"))
	if err != nil {
		t.Fatalf("Open ldap: %v", err)
	}
	defer live.Close()
	liveRecs := readAll(t, live, "")

	path := filepath.Join(t.TempDir(), "slapcat.ldif")
	if err := os.WriteFile(path, d.Slapcat(t), 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := Open(ctx, &strategies.Plan{Source: strategies.SourceSpec{Kind: strategies.SourceLDIF, Path: path}})
	if err != nil {
		t.Fatalf("Open ldif: %v", err)
	}
	var fileRecs []Record
	for _, r := range readAll(t, file, "") {
		if r.Err != nil {
			t.Errorf("slapcat row %d (line %d): %v", r.Row, r.Line, r.Err)
		}
		if oc, _ := r.Fields["objectClass"].(string); oc == "inetOrgPerson" {
			fileRecs = append(fileRecs, r)
		}
	}
	if len(liveRecs) != 31 || len(fileRecs) != 31 {
		t.Fatalf("people: got %d live and %d in the export, want 31 each", len(liveRecs), len(fileRecs))
	}
	// Computed on request, never stored: a live search has them, an export cannot.
	computed := []string{"entryDN", "subschemaSubentry", "hasSubordinates"}
	for i := range liveRecs {
		lf, ff := liveRecs[i].Fields, fileRecs[i].Fields
		if lf["dn"] != ff["dn"] {
			t.Fatalf("entry %d: live %v, export %v: not in the same order", i+1, lf["dn"], ff["dn"])
		}
		for k, v := range ff {
			if !reflect.DeepEqual(lf[k], v) {
				t.Errorf("%s: %s: live %#v, export %#v", ff["dn"], k, lf[k], v)
			}
		}
		for k := range lf {
			if _, ok := ff[k]; !ok && !slices.Contains(computed, k) {
				t.Errorf("%s: %s is live only", ff["dn"], k)
			}
		}
	}
	ada := liveRecs[0].Fields
	if ada["cn"] != "Ada Lövelace" || ada["description"] != " leading space makes slapcat write base64" ||
		!reflect.DeepEqual(ada["mail"], []any{"ada@example.org", "countess@example.org"}) ||
		ada["userPassword"] != "{SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju" ||
		!reflect.DeepEqual(ada["memberOf"], []any{"cn=admins,ou=groups,dc=example,dc=org"}) {
		t.Errorf("ada: got %#v", ada)
	}
	if !strings.Contains(string(d.Slapcat(t)), "description:: ") {
		t.Errorf("slapcat wrote no base64 value; the comparison does not cover base64")
	}
}

// TestLDAPPaged reads 20,000 entries from a directory that returns at most 1,000 per
// search: only a paged read (RFC 2696) gets them all.
func TestLDAPPaged(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 entries")
	}
	const n = 20000
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{Seed: usersLDIF(n), SizeLimit: 1000})
	ctx := context.Background()
	p := ldapPlan(t, d, "uid", "mail", "cn")
	p.Source.LDAP.PageSize = 500
	src, err := Open(ctx, p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer src.Close()

	// The server's limit is real: one unpaged search stops at 1,000.
	c, err := ldap.DialURL(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Bind(d.ReaderDN, d.ReaderPassword)
	if _, err := c.Search(ldap.NewSearchRequest(d.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"uid"}, nil)); !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Fatalf("unpaged search: got %v, want sizeLimitExceeded", err)
	}

	seen := make(map[string]bool, n)
	row := 0
	var pos string
	err = src.Read(ctx, "", func(r Record) error {
		row++
		if r.Row != row || r.Err != nil {
			return fmt.Errorf("record %d: row %d, err %v", row, r.Row, r.Err)
		}
		dn, _ := r.Fields["dn"].(string)
		if seen[dn] {
			return fmt.Errorf("record %d: %s read twice", row, dn)
		}
		seen[dn] = true
		if row == 12345 {
			pos = r.Pos
		}
		return nil
	})
	if err != nil || row != n || len(seen) != n {
		t.Fatalf("Read: %d records, %d distinct, err %v; want %d", row, len(seen), err, n)
	}
	if got, exact, err := src.(Counter).Count(ctx); got != n || !exact || err != nil {
		t.Errorf("Count: got %d %v %v, want %d exact", got, exact, err, n)
	}
	rest := readAll(t, src, pos)
	if len(rest) != n-12345 || rest[0].Row != 12346 {
		t.Errorf("resume after row 12345: got %d records from row %d, want %d from 12346", len(rest), rest[0].Row, n-12345)
	}
}

// TestLDAPFindAndErrors looks people up as the bridge does and checks what a wrong
// plan says.
func TestLDAPFindAndErrors(t *testing.T) {
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{Seed: usersLDIF(5)})
	ctx := context.Background()
	src, err := Open(ctx, ldapPlan(t, d))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	f := src.(Finder)
	got, err := f.Find(ctx, "mail", "USER3@example.org")
	if err != nil || len(got) != 1 || got[0].Fields["uid"] != "user3" {
		t.Errorf("Find mail: got %+v, %v; want user3", got, err)
	}
	// Columns take the plan's spelling of the attributes (the server says givenName).
	spelled, err := Open(ctx, ldapPlan(t, d, "UID", "telephonenumber"))
	if err != nil {
		t.Fatal(err)
	}
	defer spelled.Close()
	recs, err := spelled.(Sampler).Sample(ctx, 1)
	if err != nil || len(recs) != 1 || recs[0].Fields["UID"] != "user1" || recs[0].Fields["telephonenumber"] != "+44 20 7946 0001" {
		t.Errorf("attribute names: got %+v, %v; want UID and telephonenumber as the plan spells them", recs, err)
	}
	if got, err := f.Find(ctx, "mail", "*"); err != nil || len(got) != 0 {
		t.Errorf("Find with a filter pattern as the value: got %d records, %v; want none (the value is escaped)", len(got), err)
	}
	if _, err := f.Find(ctx, "mail)(uid=*", "x"); err == nil {
		t.Errorf("Find with a made-up attribute name: got no error")
	}

	tests := []struct {
		name  string
		edit  func(*strategies.LDAPSource)
		field string
	}{
		{"wrong password", func(s *strategies.LDAPSource) { t.Setenv("CUTOVER_TEST_LDAP_PASSWORD", "nope") }, "source.ldap.bind_dn"},
		{"no such base", func(s *strategies.LDAPSource) { s.BaseDN = "ou=nobody,dc=example,dc=org" }, "source.ldap.base_dn"},
		{"bad filter", func(s *strategies.LDAPSource) { s.Filter = "(mail=" }, "source.ldap.filter"},
		{"nobody listening", func(s *strategies.LDAPSource) { s.URL = "ldap://127.0.0.1:1" }, "source.ldap.url"},
		{"not an ldap URL", func(s *strategies.LDAPSource) { s.URL = "http://127.0.0.1" }, "source.ldap.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ldapPlan(t, d)
			tt.edit(p.Source.LDAP)
			src, err := Open(ctx, p)
			if err == nil {
				err = src.Read(ctx, "", func(Record) error { return nil })
				src.Close()
			}
			var se *strategies.Error
			if !errors.As(err, &se) || se.Field != tt.field {
				t.Errorf("got %v, want an error about %s", err, tt.field)
			}
			if err != nil && strings.Contains(err.Error(), d.ReaderPassword) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// BenchmarkLDAPPagedRead reads directories of 2,000 and 20,000 entries and reports the
// peak live heap seen during the read: flat memory means the two are about equal.
func BenchmarkLDAPPagedRead(b *testing.B) {
	for _, n := range []int{2000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			d := sourcetest.Slapd(b, sourcetest.SlapdOptions{Seed: usersLDIF(n), SizeLimit: 1000})
			p := ldapPlan(b, d)
			p.Source.LDAP.PageSize = 500
			src, err := Open(context.Background(), p)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			var peak uint64
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base := ms.HeapAlloc
			b.ResetTimer()
			for range b.N {
				i := 0
				err := src.Read(context.Background(), "", func(r Record) error {
					if i++; i%250 == 0 {
						runtime.ReadMemStats(&ms)
						peak = max(peak, ms.HeapAlloc)
					}
					return nil
				})
				if err != nil || i != n {
					b.Fatalf("read %d of %d: %v", i, n, err)
				}
			}
			b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
