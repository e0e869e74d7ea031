package wizard

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/charmbracelet/huh"

	"github.com/cutover/cutover/strategies"
)

// form builds the questions of a step, bound straight into the plan. It returns nil for
// steps that are screens rather than questions (preview, run, report).
func (s *state) form(id stepID) *huh.Form {
	switch id {
	case stepWelcome:
		return huh.NewForm(huh.NewGroup(s.welcomeNote()))
	case stepStrategy:
		return huh.NewForm(huh.NewGroup(s.strategyField()))
	case stepSourceKind:
		return huh.NewForm(huh.NewGroup(s.sourceKindField()))
	case stepConnection:
		return huh.NewForm(huh.NewGroup(s.connectionFields()...))
	case stepTable:
		return huh.NewForm(huh.NewGroup(s.tableFields()...))
	case stepMapping:
		return huh.NewForm(s.mappingGroups()...)
	case stepPassword:
		return huh.NewForm(huh.NewGroup(s.passwordFields()...))
	case stepPasswordDetail:
		return huh.NewForm(huh.NewGroup(s.passwordDetailFields()...))
	case stepTarget:
		return huh.NewForm(huh.NewGroup(s.targetField()))
	case stepTargetDetail:
		return huh.NewForm(huh.NewGroup(s.targetDetailFields()...))
	case stepOptions:
		// Two questions a page: four with their descriptions do not fit 80x24, and huh
		// then hides the options above a select's answer.
		fields := s.optionFields()
		var groups []*huh.Group
		for i := 0; i < len(fields); i += 2 {
			groups = append(groups, huh.NewGroup(fields[i:min(i+2, len(fields))]...))
		}
		return huh.NewForm(groups...)
	case stepReview:
		// The plan on a page of its own, so the question page below always fits.
		return huh.NewForm(huh.NewGroup(s.reviewNote()), huh.NewGroup(s.reviewFields()...))
	}
	return nil
}

func (s *state) welcomeNote() *huh.Note {
	var b strings.Builder
	b.WriteString("It reads your users table, maps and validates every row, shows you real\n" +
		"rows before anything is written, runs the strategy you choose and saves a\n" +
		"plan that 'cutover run --plan' replays in CI.\n\n")
	if s.fromDemo {
		b.WriteString("Every answer is prefilled: Enter all the way moves the bundled demo\n" +
			"database into an in-process mock IdP; nothing else is touched.\n")
		if s.env.DemoNote != "" {
			b.WriteString("\n" + s.env.DemoNote + "\n")
		}
	} else if s.earlier {
		b.WriteString("Every answer is prefilled from " + DefaultPlanFile + ", which an earlier walk\n" +
			"saved; Enter all the way runs it again and saves over it. To start over\n" +
			"from the demo: rm -r " + DefaultPlanFile + " .cutover\n" +
			"  " + s.plan.Strategy + " from " + cmpOr(displayPath(s.plan.Source.Path), s.plan.Source.Kind) + "\n")
	} else {
		b.WriteString("Every answer is prefilled from the plan; Enter all the way runs it again.\n" +
			"  source  " + cmpOr(displayPath(s.plan.Source.Path), s.plan.Source.Kind) + "\n")
	}
	if s.unreadable != nil {
		b.WriteString("\n" + DefaultPlanFile + " is not a plan the wizard can read, so it starts from the\ndemo; it asks before saving over it.\n")
	}
	if s.tui {
		b.WriteString("\nEsc goes back a step; Ctrl+C stops.")
	} else {
		b.WriteString("\nEach question says what Enter keeps; Ctrl+C stops.")
	}
	return huh.NewNote().
		Title("cutover moves the users of a legacy login system into an identity provider,\nwithout locking anyone out.").
		Description(b.String()).
		Next(true).NextLabel("Start")
}

// displayPath shortens a path under the working directory to a relative one.
func displayPath(p string) string {
	if p == "" || !filepath.IsAbs(p) {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return p
}

func (s *state) strategyField() huh.Field {
	var descs []string
	var opts []huh.Option[string]
	for _, k := range strategies.StrategyKinds() {
		descs = append(descs, k.Name+"\n"+k.Tradeoff)
		opts = append(opts, huh.NewOption(k.Option, k.Name))
	}
	desc := strings.Join(descs, "\n\n")
	if s.preview != nil && s.preview.Recommendation != "" {
		desc += "\n\nRecommended for this source: " + s.preview.Recommendation
	}
	return s.choice(huh.NewSelect[string]().Description(desc), "Which strategy?", &s.plan.Strategy, opts...)
}

func (s *state) sourceKindField() huh.Field {
	var opts []huh.Option[string]
	for _, k := range strategies.SourceKinds() {
		opts = append(opts, huh.NewOption(k.Title, k.Name))
	}
	return s.choice(huh.NewSelect[string](), "Where are the legacy users?", &s.plan.Source.Kind, opts...)
}

func (s *state) connectionFields() []huh.Field {
	src := &s.plan.Source
	k, _ := strategies.SourceKindOf(src.Kind)
	if k.Directory {
		return s.directoryFields()
	}
	if k.DSN {
		example := "postgres://migrator:PASSWORD@db.internal:5432/app"
		if src.Kind == strategies.SourceMySQL {
			example = "migrator:PASSWORD@tcp(db.internal:3306)/app"
		}
		return []huh.Field{huh.NewInput().
			Title("DSN").
			Description("e.g. " + example + "\nA password typed here is kept out of the plan as ${" + envDSN + "}.").
			Placeholder(example).
			Validate(required("source.dsn", &src.DSN)).
			Value(&src.DSN)}
	}
	fields := []huh.Field{s.text(huh.NewInput().
		Description("Relative paths are resolved against the directory the plan is saved in.").
		Validate(required("source.path", &src.Path)), "File path", &src.Path)}
	if src.Kind == strategies.SourceFirebase {
		fields = append(fields, s.text(huh.NewInput().
			Description("Firebase console: Authentication > Users > Password hash parameters, saved as JSON.").
			Validate(required("source.hash_config", &src.HashConfig)), "Hash config (JSON file)", &src.HashConfig))
	}
	return fields
}

// directoryFields ask how to reach an LDAP directory; the connection test that follows
// binds with them and reads a page of entries for the preview.
func (s *state) directoryFields() []huh.Field {
	src := &s.plan.Source
	if src.LDAP == nil {
		src.LDAP = &strategies.LDAPSource{}
	}
	d := src.LDAP
	password := huh.NewInput().Title("Bind password").
		Description("Kept out of the plan as ${" + envLDAPPassword + "}; empty for an anonymous bind.").
		Value(&d.BindPassword)
	if s.tui {
		// Masked on screen. huh's accessible mode reads a masked field only from a
		// terminal, so line mode (scripts, screen readers) asks it like the DSN.
		password = password.EchoMode(huh.EchoModePassword)
	}
	return []huh.Field{
		s.text(huh.NewInput().
			Description("ldap://host:389, or ldaps://host:636 (TLS); e.g. ldap://ldap.corp.example:389").
			Validate(required("source.ldap.url", &d.URL)), "Directory URL", &d.URL),
		s.text(huh.NewInput().
			Description("e.g. cn=reader,dc=corp,dc=example; empty binds anonymously"), "Bind DN (optional)", &d.BindDN),
		password,
		s.text(huh.NewInput().
			Description("where the users are, searched below; e.g. ou=people,dc=corp,dc=example").
			Validate(required("source.ldap.base_dn", &d.BaseDN)), "Base DN", &d.BaseDN),
		s.text(huh.NewInput().
			Description("empty reads (objectClass=person); e.g. (&(objectClass=user)(!(objectClass=computer))) for Active Directory"),
			"Filter (optional)", &d.Filter),
	}
}

func (s *state) tableFields() []huh.Field {
	src := &s.plan.Source
	var opts []huh.Option[string]
	if s.probe != nil {
		for _, t := range s.probe.Tables {
			label := t.Name
			if t.Rows >= 0 {
				label = fmt.Sprintf("%s (about %s rows)", t.Name, strategies.GroupDigits(t.Rows))
			}
			opts = append(opts, huh.NewOption(label, t.Name))
		}
	}
	if src.Table != "" && !hasOption(opts, src.Table) {
		opts = append(opts, huh.NewOption(src.Table, src.Table))
	}
	// On screen the chosen table comes first: huh v1.0 scrolls a short list so that the
	// options above the preselected one are hidden. Accessible mode keeps the numbering.
	if i := slices.IndexFunc(opts, func(o huh.Option[string]) bool { return o.Value == src.Table }); i > 0 && s.tui {
		// Read the option before Delete clears the slot it leaves (in one expression the
		// order is unspecified: the first option showed with an empty label).
		chosen := opts[i]
		opts = append([]huh.Option[string]{chosen}, slices.Delete(opts, i, i+1)...)
	}
	opts = append(opts, huh.NewOption("(use the query below)", ""))
	return []huh.Field{
		s.choice(huh.NewSelect[string](), "Users table", &src.Table, opts...),
		s.text(huh.NewInput().
			Description("e.g. SELECT u.*, p.plan FROM users u JOIN plans p ON p.user_id = u.id; replaces the table"),
			"Or a query (optional)", &src.Query),
	}
}

func hasOption(opts []huh.Option[string], v string) bool {
	for _, o := range opts {
		if o.Value == v {
			return true
		}
	}
	return false
}

// canonicalField is one mapping question: the plan key and where its answer lives.
type canonicalField struct {
	key  string
	ref  *strategies.FieldRef
	help string
}

func canonicalFields(m *strategies.Mapping) []canonicalField {
	return []canonicalField{
		{"legacy_id", &m.LegacyID, "the user's id in the old system"},
		{"email", &m.Email, "identifier"},
		{"email_verified", &m.EmailVerified, "boolean, or a verified_at timestamp"},
		{"phone_number", &m.PhoneNumber, "identifier; converted to E.164"},
		{"phone_number_verified", &m.PhoneNumberVerified, ""},
		{"preferred_username", &m.PreferredUsername, "identifier"},
		{"password_hash", &m.PasswordHash, "the stored hash"},
		{"password_salt", &m.PasswordSalt, "only when the salt is kept in its own column"},
		{"name", &m.Name, ""},
		{"given_name", &m.GivenName, ""},
		{"family_name", &m.FamilyName, ""},
		{"middle_name", &m.MiddleName, ""},
		{"nickname", &m.Nickname, ""},
		{"profile", &m.Profile, "URL"},
		{"picture", &m.Picture, "URL"},
		{"website", &m.Website, "URL"},
		{"gender", &m.Gender, ""},
		{"birthdate", &m.Birthdate, "YYYY-MM-DD"},
		{"zoneinfo", &m.Zoneinfo, "e.g. Europe/Paris"},
		{"locale", &m.Locale, "e.g. en-GB"},
		{"roles", &m.Roles, "list, or comma-separated"},
		{"groups", &m.Groups, "list, or comma-separated"},
		{"disabled", &m.Disabled, "boolean (is_active maps with the not transform)"},
	}
}

// Answers to the mapping step's first question.
const (
	mapKeep = "keep"
	mapEdit = "edit"
)

// mappingGroups shows the suggested mapping on one page and asks whether to keep it;
// only "change it" opens the pages that ask field by field (six a page on screen), so
// Enter through a confident suggestion is one key, not two dozen.
func (s *state) mappingGroups() []*huh.Group {
	fields := canonicalFields(&s.plan.Mapping)
	s.mapChoice = mapKeep
	ask := s.choice(huh.NewSelect[string]().Description(s.mappingSummary(fields)),
		"Field mapping: use these columns?", &s.mapChoice,
		huh.NewOption("keep the suggested mapping", mapKeep),
		huh.NewOption("change it, field by field", mapEdit))
	if !s.tui {
		// Plain prompts print no descriptions: the summary is a note. The fields are
		// asked after "change it" (mappingEditForm).
		return []*huh.Group{huh.NewGroup(huh.NewNote().Description(s.mappingSummary(fields)), ask)}
	}
	first := huh.NewGroup(ask)
	groups := []*huh.Group{first}
	keeping := func() bool { return s.mapChoice != mapEdit }
	const per = 6
	pages := (len(fields) + per - 1) / per
	for start := 0; start < len(fields); start += per {
		var page []huh.Field
		for _, f := range fields[start:min(start+per, len(fields))] {
			page = append(page, s.columnField(fieldTitle(f), f.ref))
		}
		groups = append(groups, huh.NewGroup(page...).
			Title(fmt.Sprintf("Field mapping (%d/%d)", start/per+1, pages)).
			Description("Which source column holds each field?").WithHideFunc(keeping))
	}
	return groups
}

// mappingEditForm asks field by field in line mode, after "change it": the columns are
// listed once, then each field takes a typed column name (huh's plain prompts show no
// page titles and would list every column again for each of two dozen fields).
func (s *state) mappingEditForm() *huh.Form {
	fields := []huh.Field{huh.NewNote().Title("Field mapping").
		Description("Columns: " + strings.Join(s.columns, ", ") + "\nType a column for each field; Enter keeps the one shown, - maps none.")}
	for _, f := range canonicalFields(&s.plan.Mapping) {
		fields = append(fields, s.columnField(fieldTitle(f), f.ref))
	}
	return huh.NewForm(huh.NewGroup(fields...))
}

// fieldTitle is a mapping question on one line: the key, its transform and a hint.
func fieldTitle(f canonicalField) string {
	title := f.key
	if f.ref.Transform != "" {
		title += " (" + f.ref.Transform + ")"
	}
	if f.help != "" {
		title += ": " + f.help // one line instead of a description: a page fits 80x24
	}
	return title
}

// columnField asks for the column of one field: on screen an inline select (← value →,
// so a page of six fits 80x24); in line mode a typed name, since a select would list
// every column again for each of two dozen fields.
func (s *state) columnField(title string, ref *strategies.FieldRef) huh.Field {
	if s.tui {
		return s.choice(huh.NewSelect[string]().Inline(true), title, &ref.Column, s.columnOptions(ref.Column)...)
	}
	in := huh.NewInput().Validate(func(v string) error {
		v = strings.TrimSpace(v)
		if v == "" || v == "-" || len(s.columns) == 0 || slices.Contains(s.columns, v) {
			return nil
		}
		return fmt.Errorf("%q is not a column of the source; one of %s, or - for none", v, strings.Join(s.columns, ", "))
	})
	f := s.text(in, title, &ref.Column)
	return dashClears{Field: f, v: &ref.Column}
}

// mappingSummary lists the mapped fields as "field <- column", two to a line.
func (s *state) mappingSummary(fields []canonicalField) string {
	var cells []string
	for _, f := range fields {
		if f.ref.Column == "" {
			continue
		}
		c := f.ref.Column
		if f.ref.Transform != "" {
			c += " (" + f.ref.Transform + ")"
		}
		cells = append(cells, f.key+" <- "+c)
	}
	for _, k := range sortedKeys(s.plan.Mapping.CustomAttributes) {
		cells = append(cells, k+" (custom) <- "+s.plan.Mapping.CustomAttributes[k].Column)
	}
	if len(cells) == 0 {
		return "Nothing is mapped yet: choose \"change it\"."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Suggested from the source's columns (%d fields):\n", len(cells))
	for i := 0; i < len(cells); i += 2 {
		line := fmt.Sprintf("  %-37s", truncate(cells[i], 37))
		if i+1 < len(cells) {
			line += " " + truncate(cells[i+1], 37)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// columnOptions lists the source's columns, "(not mapped)" first, keeping the current
// value even when the column list is unknown (a loaded plan).
func (s *state) columnOptions(current string) []huh.Option[string] {
	opts := []huh.Option[string]{huh.NewOption("(not mapped)", "")}
	for _, c := range s.columns {
		opts = append(opts, huh.NewOption(c, c))
	}
	if current != "" && !hasOption(opts, current) {
		opts = append(opts, huh.NewOption(current, current))
	}
	return opts
}

func (s *state) passwordFields() []huh.Field {
	return []huh.Field{
		s.text(huh.NewInput().
			Description("name=column pairs, comma-separated, e.g. member_id=member_no, plan=plan_code"),
			"Custom attributes (optional)", &s.customAttrs),
		s.choice(huh.NewSelect[string](), "Password hash format", &s.pwKind,
			huh.NewOption("auto: detect the format of each hash (recommended)", pwAuto),
			huh.NewOption("explicit: every hash has one known format", pwExplicit),
			huh.NewOption("recipe: a home-grown scheme, e.g. sha256(salt + password)", pwRecipe),
		),
	}
}

func (s *state) passwordDetailFields() []huh.Field {
	title, desc := "Format name", "e.g. bcrypt, django_pbkdf2_sha256, phpass, md5_crypt, ssha"
	if s.pwKind == pwRecipe {
		title, desc = "Recipe", "e.g. sha256(salt + password) or md5(md5(password) + salt)"
	}
	return []huh.Field{
		s.text(huh.NewInput().Description(desc).Validate(required("mapping.password_format", &s.pwValue)), title, &s.pwValue),
		huh.NewInput().
			Title("Secret key / pepper (optional)").
			Description("Only for keyed schemes. A literal key is kept out of the plan as ${" + envPepper + "}.").
			Value(&s.plan.Mapping.PasswordKey),
	}
}

func (s *state) targetField() huh.Field {
	var opts []huh.Option[string]
	for _, k := range strategies.TargetKinds() {
		opts = append(opts, huh.NewOption(k.Title, k.Name))
	}
	return s.choice(huh.NewSelect[string](), "Which identity provider?", &s.plan.Target.Kind, opts...)
}

// targetDetailFields asks for the settings the chosen kind of target needs, as its row
// of strategies.TargetKinds lists them.
func (s *state) targetDetailFields() []huh.Field {
	t := &s.plan.Target
	k, _ := strategies.TargetKindOf(t.Kind)
	var fields []huh.Field
	for _, f := range k.Fields {
		v := t.Field(f.Key)
		if len(f.Options) > 0 {
			if *v == "" {
				*v = f.Options[0][1]
			}
			var opts []huh.Option[string]
			for _, o := range f.Options {
				opts = append(opts, huh.NewOption(o[0], o[1]))
			}
			fields = append(fields, s.choice(huh.NewSelect[string](), f.Title, v, opts...))
			continue
		}
		in := huh.NewInput().Placeholder(f.Placeholder).Description(f.Help)
		key, envRef, req := "target."+f.Key, f.EnvRef, f.Required
		in.Validate(func(val string) error {
			val = strings.TrimSpace(val)
			switch {
			case req && val == "":
				return fmt.Errorf("%s: required", key)
			case envRef && val != "" && !strategies.IsEnvRef(val):
				return fmt.Errorf("%s: write a ${VAR} reference, e.g. ${ORY_API_KEY}, and export the variable", key)
			}
			return nil
		})
		fields = append(fields, s.text(in, f.Title, v))
	}
	return fields
}

func (s *state) optionFields() []huh.Field {
	p := s.plan
	switch p.Strategy {
	case strategies.StrategyLazy:
		if p.Lazy.Secret == "" && !p.Lazy.NoAuth {
			p.Lazy.Secret = "${" + bridgeSecretVar + "}" // what `cutover bridge` needs
		}
		return []huh.Field{
			s.choice(huh.NewSelect[string]().Description("how the IdP calls the verification endpoint"), "Bridge dialect", &p.Lazy.Dialect,
				huh.NewOption("authproject form POST (default)", ""),
				huh.NewOption("Keycloak user-migration plugin", strategies.DialectKeycloak),
				huh.NewOption("Ory Kratos password-migration hook", strategies.DialectKratos),
				huh.NewOption("FusionAuth Generic Connector", strategies.DialectFusionAuth),
			),
			s.text(huh.NewInput().Placeholder("127.0.0.1:8788"), "Listen address", &p.Lazy.Listen),
			// A ${VAR} reference only (the check below), so saying it aloud is safe.
			s.text(huh.NewInput().
				Description("a ${VAR} reference: export the variable before 'cutover bridge' and give the IdP the same value; empty only with unauthenticated callers below").
				Validate(func(v string) error {
					if v = strings.TrimSpace(v); v != "" && !strategies.IsEnvRef(v) {
						return fmt.Errorf("lazy.secret: write a ${VAR} reference, e.g. ${BRIDGE_SECRET}, and export the variable")
					}
					return nil
				}), "Shared secret", &p.Lazy.Secret),
			s.confirm(huh.NewConfirm().Description("only for a bridge reachable by the IdP alone (rehearsals)"),
				"Accept unauthenticated callers?", &p.Lazy.NoAuth),
		}
	case strategies.StrategyAuthOnly:
		fields := []huh.Field{
			s.text(huh.NewInput().Placeholder("idp_user_id").Description("added to the legacy users table"),
				"Column for the IdP user id", &p.AuthOnly.IDColumn),
			s.text(huh.NewInput().Placeholder("1000").Validate(optionalInt("authonly.batch_size")),
				"Rows per write-back transaction", &s.batchSize),
		}
		if !strategies.IsDatabase(p.Source.Kind) {
			fields = append(fields, s.text(huh.NewInput().Description("file sources: where legacy id -> IdP id is written"),
				"Mapping file", &p.AuthOnly.MappingFile))
		}
		return fields
	}
	first := *p
	first.Bulk.Identifier = ""
	firstID := first.Identifier()
	if p.Bulk.Identifier == firstID {
		p.Bulk.Identifier = "" // the same answer: keep the cursor on the option that says so
	}
	idOpts := []huh.Option[string]{huh.NewOption(firstID+" (the first mapped identifier)", "")}
	for _, id := range []string{"email", "phone_number", "preferred_username"} {
		if id != firstID {
			idOpts = append(idOpts, huh.NewOption(id, id))
		}
	}
	hashTitle := "Hashes the target cannot import"
	if n := s.unimportable(); n > 0 {
		hashTitle += fmt.Sprintf(" (%s users here)", strategies.GroupDigits(int64(n)))
	}
	return []huh.Field{
		s.textDefault(huh.NewInput().Placeholder(strconv.Itoa(defaultConcurrency)).Validate(optionalInt("bulk.concurrency")).
			Description(fmt.Sprintf("import requests sent to the IdP at once (1 to 64); empty keeps %d", defaultConcurrency)),
			"Import jobs in flight", &s.concurrency, strconv.Itoa(defaultConcurrency)),
		s.confirm(huh.NewConfirm().Description("no: they are skipped and reported"), "Update users that already exist?", &p.Bulk.Upsert),
		s.choice(huh.NewSelect[string]().Description("without a key in the plan a row fails; lazy would keep these passwords"), hashTitle, &p.Bulk.UnsupportedHash,
			huh.NewOption("fail: report the row as failed", ""),
			huh.NewOption("without_password: import the user, who resets or uses a code", strategies.UnsupportedWithoutPassword),
			huh.NewOption("skip: leave the user out, reported as skipped", strategies.UnsupportedSkip),
		),
		s.choice(huh.NewSelect[string](), "Identifier at the IdP", &p.Bulk.Identifier, idOpts...),
	}
}

// defaultConcurrency is bulk.concurrency when the plan leaves it out (bulk.DefaultConcurrency).
const defaultConcurrency = 4

// unimportable counts the users whose hash the target cannot import, from the preview.
func (s *state) unimportable() int {
	n := 0
	if s.preview != nil {
		for _, f := range s.preview.Formats {
			if !f.Importable {
				n += f.Count
			}
		}
	}
	return n
}

func (s *state) reviewNote() huh.Field {
	return huh.NewNote().Title("The plan, as it will be saved (secrets as ${VAR})").
		Description(s.noteText(fitLines(s.planYAML(), s.noteRows))).Next(true).NextLabel("Next")
}

// fitLines shortens the plan's YAML to at most rows lines for a small terminal: first
// the mapping block becomes one line naming its fields, then the end is cut. The saved
// file always has everything; rows <= 0 means no limit.
func fitLines(yaml string, rows int) string {
	lines := strings.Split(yaml, "\n")
	if rows <= 0 || len(lines) <= rows {
		return yaml
	}
	// First what says nothing: empty sections ("authonly: {}") and the version.
	kept := lines[:0:0]
	for _, l := range lines {
		if !strings.HasSuffix(l, ": {}") && !strings.HasPrefix(l, "version:") {
			kept = append(kept, l)
		}
	}
	if lines = kept; len(lines) <= rows {
		return strings.Join(lines, "\n")
	}
	var out, fields []string
	at := -1 // where the mapping summary goes
	for _, l := range lines {
		if at >= 0 && strings.HasPrefix(l, "  ") && len(out) == at+1 {
			// Still inside mapping: keep its field names, not its lines.
			if !strings.HasPrefix(l, "    ") {
				if k, _, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
					fields = append(fields, k)
				}
			}
			continue
		}
		if l == "mapping:" {
			at = len(out) + 1
			out = append(out, l, "")
			continue
		}
		out = append(out, l)
	}
	if at >= 0 {
		// One line that fits an 80-column note, so the lines counted are the lines shown.
		sum := fmt.Sprintf("  %d fields: %s", len(fields), strings.Join(fields, ", "))
		if r := []rune(sum); len(r) > 72 {
			sum = string(r[:71]) + "…"
		}
		out[at] = sum
	}
	if len(out) > rows {
		out = foldBlocks(out)
	}
	if len(out) > rows {
		more := len(out) - rows + 1
		out = append(out[:rows-1], fmt.Sprintf("… %d more lines in the saved plan", more))
	}
	return strings.Join(out, "\n")
}

// foldBlocks writes each section made of "  key: value" lines alone (source, target,
// lazy...) on one line in YAML's flow style, "target: {kind: mockidp, profile: authgear}",
// while it fits 76 cells.
func foldBlocks(lines []string) []string {
	var out []string
	for i := 0; i < len(lines); {
		l := lines[i]
		j := i + 1
		for j < len(lines) && strings.HasPrefix(lines[j], "  ") && !strings.HasPrefix(lines[j], "   ") && strings.Contains(lines[j], ": ") {
			j++
		}
		if !strings.HasSuffix(l, ":") || j == i+1 || (j < len(lines) && strings.HasPrefix(lines[j], " ")) {
			out = append(out, l)
			i++
			continue
		}
		parts := make([]string, 0, j-i-1)
		for _, sub := range lines[i+1 : j] {
			parts = append(parts, strings.TrimSpace(sub))
		}
		flow := l + " {" + strings.Join(parts, ", ") + "}"
		if l == "mapping:" {
			flow = l + " " + parts[0] // already its summary line
		}
		if len([]rune(flow)) <= 76 {
			out = append(out, flow)
		} else {
			out = append(out, lines[i:j]...)
		}
		i = j
	}
	return out
}

// noteText escapes what the full-screen huh note would read as markup (_italic_,
// *bold*, `code`): plan keys are full of underscores. Accessible mode prints notes as
// they are.
func (s *state) noteText(t string) string {
	if !s.tui {
		return t
	}
	return strings.NewReplacer(`\`, `\\`, "_", `\_`, "*", `\*`, "`", "\\`").Replace(t)
}

func (s *state) reviewFields() []huh.Field {
	return []huh.Field{
		s.text(huh.NewInput().Validate(required("plan file", &s.savePath)), "Save the plan to", &s.savePath),
		s.choice(huh.NewSelect[string](), "Then", &s.action,
			huh.NewOption("save the plan and run it now", actionRun),
			huh.NewOption("save the plan and quit", actionSave),
			huh.NewOption("go back and change answers", actionBack),
		),
	}
}

// planYAML renders the plan as it will be saved (secrets are ${VAR} references by now,
// the source path relative to the plan file).
func (s *state) planYAML() string {
	p := *s.plan
	p.Source.Path = relativeTo(s.savePath, p.Source.Path)
	data, err := p.Marshal()
	if err != nil {
		return "cannot render the plan: " + err.Error()
	}
	return strings.TrimRight(string(data), "\n")
}

// required rejects an empty answer. In accessible mode an empty line keeps the bound
// value, so it is only empty when that value is empty too.
func required(what string, bound *string) func(string) error {
	return func(v string) error {
		if strings.TrimSpace(v) == "" && strings.TrimSpace(*bound) == "" {
			return fmt.Errorf("%s: required", what)
		}
		return nil
	}
}

func optionalInt(key string) func(string) error {
	return func(v string) error {
		if v = strings.TrimSpace(v); v == "" {
			return nil
		}
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			return fmt.Errorf("%s: %q is not a whole number; leave it empty for the default", key, v)
		}
		return nil
	}
}
