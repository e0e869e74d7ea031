package mapping

import (
	"slices"
	"strings"
	"unicode"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// rule proposes a column for a canonical field by its normalised name (lower case,
// letters and digits only, last segment of a dotted path). Names are in priority order.
type rule struct {
	key       string
	names     []string
	transform string
	boolean   bool // the column's sampled values must read as booleans (or timestamps for verified)
}

var rules = []rule{
	{key: "legacy_id", names: []string{"id", "userid", "entryuuid", "objectguid", "uid", "localid", "pk", "accountid", "usersid", "uuid", "guid"}},
	{key: "email", names: []string{"email", "emailaddress", "mail", "useremail", "usermail", "emailaddr", "loginemail", "userprincipalname"}},
	{key: "email_verified", names: []string{"emailverified", "isemailverified", "verified", "isverified", "emailconfirmed", "confirmed", "isconfirmed", "emailvalidated"}, boolean: true},
	{key: "email_verified", names: []string{"emailverifiedat", "emailconfirmedat", "confirmedat", "verifiedat", "emailvalidatedat", "emailconfirmedon", "confirmationdate"}, transform: "verified_at"},
	{key: "phone_number", names: []string{"phonenumber", "phone", "mobile", "mobilephone", "mobilenumber", "cellphone", "cell", "telephone", "tel", "msisdn", "telephonenumber"}},
	{key: "phone_number_verified", names: []string{"phonenumberverified", "phoneverified", "phoneconfirmed", "mobileverified"}, boolean: true},
	{key: "preferred_username", names: []string{"username", "preferredusername", "login", "userlogin", "loginname", "handle", "screenname", "uname", "samaccountname", "uid"}},
	{key: "name", names: []string{"name", "fullname", "displayname", "cn"}},
	{key: "given_name", names: []string{"givenname", "firstname", "fname", "forename"}},
	{key: "family_name", names: []string{"familyname", "lastname", "surname", "lname", "sn"}},
	{key: "middle_name", names: []string{"middlename"}},
	{key: "nickname", names: []string{"nickname", "nick"}},
	{key: "picture", names: []string{"picture", "avatar", "avatarurl", "photourl", "photo", "profileimage", "image"}},
	{key: "website", names: []string{"website", "homepage", "userurl", "url"}},
	{key: "gender", names: []string{"gender", "sex"}},
	{key: "birthdate", names: []string{"birthdate", "dateofbirth", "dob", "birthday"}},
	{key: "zoneinfo", names: []string{"zoneinfo", "timezone", "tz"}},
	{key: "locale", names: []string{"locale", "language", "lang"}},
	{key: "roles", names: []string{"roles", "role"}},
	{key: "groups", names: []string{"groups"}},
	{key: "groups", names: []string{"memberof", "ismemberof"}, transform: "rdn"},
	{key: "disabled", names: []string{"disabled", "isdisabled", "blocked", "isblocked", "banned", "isbanned", "locked", "islocked", "suspended", "issuspended"}, boolean: true},
	{key: "disabled", names: []string{"isactive", "active", "enabled", "isenabled"}, transform: "not", boolean: true},
	{key: "disabled", names: []string{"useraccountcontrol"}, transform: "ad_disabled"},
	{key: "password_hash", names: []string{"passwordhash", "password", "hashedpassword", "encryptedpassword", "passworddigest", "userpass", "passwd", "pwhash", "pwdhash", "pass", "pwd", "hash", "userpassword"}},
	{key: "password_salt", names: []string{"passwordsalt", "salt", "pwsalt"}},
}

// Suggest proposes a mapping from a source's column names and a few sampled records:
// by name first (email, password, is_active -> disabled with transform not, ...), then
// by value for what names did not settle (an email-looking column, a column of password
// hashes). Columns may be empty, then the samples' field names are used. The result
// is a starting point for the wizard; New validates it like any plan's mapping.
func Suggest(columns []string, samples []sources.Record) strategies.Mapping {
	if len(columns) == 0 {
		columns = sampleColumns(samples)
	}
	used := map[string]bool{}
	got := byName(columns, samples, used)
	byValue(got, columns, samples, used)
	var m strategies.Mapping
	set := map[string]*strategies.FieldRef{
		"legacy_id": &m.LegacyID, "email": &m.Email, "email_verified": &m.EmailVerified,
		"phone_number": &m.PhoneNumber, "phone_number_verified": &m.PhoneNumberVerified,
		"preferred_username": &m.PreferredUsername, "name": &m.Name, "given_name": &m.GivenName,
		"family_name": &m.FamilyName, "middle_name": &m.MiddleName, "nickname": &m.Nickname,
		"picture": &m.Picture, "website": &m.Website, "gender": &m.Gender, "birthdate": &m.Birthdate,
		"zoneinfo": &m.Zoneinfo, "locale": &m.Locale, "roles": &m.Roles, "groups": &m.Groups,
		"disabled": &m.Disabled, "password_hash": &m.PasswordHash, "password_salt": &m.PasswordSalt,
	}
	for k, ref := range got {
		*set[k] = ref
	}
	if !m.PasswordHash.IsZero() {
		m.PasswordFormat = "auto"
	}
	return m
}

// sampleColumns lists the field names the samples have, sorted.
func sampleColumns(samples []sources.Record) []string {
	var columns []string
	seen := map[string]bool{}
	for _, r := range samples {
		for k := range r.Fields {
			if !seen[k] {
				seen[k] = true
				columns = append(columns, k)
			}
		}
	}
	slices.Sort(columns)
	return columns
}

// byName applies the rules in order: the first rule naming a column not yet used wins
// its field. Boolean fields also need the column's values to look boolean (or, for
// verified flags, like timestamps).
func byName(columns []string, samples []sources.Record, used map[string]bool) map[string]strategies.FieldRef {
	norm := make([]string, len(columns))
	for i, c := range columns {
		norm[i] = normalise(c)
	}
	got := map[string]strategies.FieldRef{}
	for _, r := range rules {
		if _, done := got[r.key]; done {
			continue
		}
		for _, name := range r.names {
			i := slices.Index(norm, name)
			if i < 0 || used[columns[i]] {
				continue
			}
			ref := strategies.FieldRef{Column: columns[i], Transform: r.transform}
			if r.boolean && !boolColumn(r.key, values(samples, columns[i]), &ref) {
				continue
			}
			got[r.key] = ref
			used[columns[i]] = true
			break
		}
	}
	return got
}

// boolColumn says whether a column of this shape suits a boolean field, setting the
// verified_at transform for a verified flag kept as a timestamp.
func boolColumn(key string, sh shape, ref *strategies.FieldRef) bool {
	switch sh {
	case shapeBool, shapeNone:
		return true
	case shapeTime:
		if key != "email_verified" && key != "phone_number_verified" {
			return false
		}
		ref.Transform = "verified_at"
		return true
	}
	return false
}

// byValue settles what names did not: an email-looking column, a column of hashes.
func byValue(got map[string]strategies.FieldRef, columns []string, samples []sources.Record, used map[string]bool) {
	if _, ok := got["email"]; !ok {
		if c := firstColumn(columns, used, samples, func(s string) bool { return emailProblem(s) == "" }); c != "" {
			got["email"] = strategies.FieldRef{Column: c}
			used[c] = true
		}
	}
	if _, ok := got["password_hash"]; !ok {
		if v, err := passwords.New(passwords.Options{}); err == nil {
			isHash := func(s string) bool {
				d, err := v.Detect(passwords.Stored{Hash: s})
				return err == nil && d.Confidence >= 1
			}
			if c := firstColumn(columns, used, samples, isHash); c != "" {
				got["password_hash"] = strategies.FieldRef{Column: c}
				used[c] = true
			}
		}
	}
}

// normalise reduces a column name to lower-case letters and digits of its last dotted
// segment: "E-Mail" -> "email", "emailVerified" -> "emailverified", "password.hash" -> "hash".
func normalise(col string) string {
	if i := strings.LastIndex(col, "."); i >= 0 {
		col = col[i+1:]
	}
	var b strings.Builder
	for _, r := range col {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

type shape int

const (
	shapeNone shape = iota // no non-empty sample
	shapeBool              // every non-empty sample reads as a boolean
	shapeTime              // every non-empty sample is a timestamp
	shapeOther
)

// values classifies a column's sampled values.
func values(samples []sources.Record, col string) shape {
	bools, times, n := 0, 0, 0
	for _, r := range samples {
		v, ok := lookup(r.Fields, col)
		if !ok || v == nil {
			continue
		}
		if s, ok := v.(string); ok && isNullText(strings.TrimSpace(s)) {
			continue
		}
		n++
		if _, known, err := parseBool(v); err == nil && known {
			bools++
		} else if looksLikeTime(v) {
			times++
		}
	}
	switch {
	case n == 0:
		return shapeNone
	case bools == n:
		return shapeBool
	case times+bools == n && times > 0:
		return shapeTime
	}
	return shapeOther
}

// firstColumn returns the first unused column whose non-empty sampled values are at
// least 80% matches of ok (and at least one).
func firstColumn(columns []string, used map[string]bool, samples []sources.Record, ok func(string) bool) string {
	for _, c := range columns {
		if used[c] {
			continue
		}
		hits, n := 0, 0
		for _, r := range samples {
			v, found := lookup(r.Fields, c)
			s, isText := text(v)
			if !found || !isText || strings.TrimSpace(s) == "" {
				continue
			}
			n++
			if ok(strings.TrimSpace(s)) {
				hits++
			}
		}
		if hits > 0 && hits*5 >= n*4 {
			return c
		}
	}
	return ""
}
