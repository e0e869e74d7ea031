package preflight

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// adAttributes are attributes only Active Directory entries carry.
var adAttributes = []string{"samaccountname", "userprincipalname", "useraccountcontrol", "objectguid", "objectsid"}

// adviseDirectory handles a directory whose users come without password hashes: Active
// Directory never lets unicodePwd be read over LDAP, and OpenLDAP hides userPassword from
// accounts without read access. There a bulk import would cost every user their
// password, while lazy migration with lazy.bind lets the directory itself check each
// password at the user's first sign-in. It adds a warning and replaces the
// recommendation; other sources are left alone.
func (r *Report) adviseDirectory(p *strategies.Plan, columns []string) {
	if p.Source.Kind != strategies.SourceLDAP && p.Source.Kind != strategies.SourceLDIF {
		return
	}
	if r.Valid == 0 || r.Importable+r.NotImportable > 0 {
		return
	}
	ad := slices.ContainsFunc(columns, func(c string) bool { return slices.Contains(adAttributes, strings.ToLower(c)) })
	why := "the directory gave no readable password hash (userPassword is missing, or the bind DN may not read it)"
	if ad {
		why = "Active Directory has no readable password hashes: unicodePwd can never be read over LDAP"
	}
	r.Warnings = append(r.Warnings, why+"; a bulk import would make every user reset their password")
	bind := "set lazy.bind.user to how a login becomes the user's bind name (uid={login},ou=people,dc=example,dc=org, or {login}@corp.example.com for AD)"
	if p.Lazy.Bind != nil {
		bind = "lazy.bind is set"
	}
	r.Recommendation = Recommendation{Strategy: strategies.StrategyLazy, Sweep: true, Reason: fmt.Sprintf(
		"%s. With lazy migration the IdP asks 'cutover bridge' to check each of the %d users' password at their first sign-in by binding to the directory as that user (%s), so nobody is forced to reset; after a few weeks 'cutover sweep' imports whoever never signed in, and those set a password at the IdP.",
		strings.ToUpper(why[:1])+why[1:], r.Valid, bind)}
}
