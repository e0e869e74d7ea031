package sources

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/directory"
)

// DefaultLDAPFilter selects the entries an ldap source reads when the plan gives no
// filter. Active Directory also calls computers persons: there, use
// (&(objectCategory=person)(objectClass=user)).
const DefaultLDAPFilter = "(objectClass=person)"

// ldapSource reads a live directory: a subtree search under the base DN with the
// paged results control, one page in memory at a time. Records are entries as in an
// LDIF file (see entryFields), numbered in the order the directory returns them;
// Line is 0 and Pos is "l1:<row>:<dn>".
type ldapSource struct {
	cfg    directory.Config
	search directory.Search
	names  map[string]string // lower-case attribute -> the plan's spelling

	mu   sync.Mutex // guards conn, shared by Find and Count
	conn *directory.Conn
}

// openLDAP connects and binds once, so a wrong URL, certificate or password is found
// when the source is opened (the wizard's connection step), not at the first read.
func openLDAP(ctx context.Context, p *strategies.Plan) (*ldapSource, error) {
	spec := p.Source.LDAP
	if spec == nil {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.ldap", Message: "missing; an ldap source needs url and base_dn under source.ldap"}
	}
	var cfg directory.Config
	var search directory.Search
	for _, v := range []struct {
		key string
		in  string
		out *string
	}{
		{"source.ldap.url", spec.URL, &cfg.URL},
		{"source.ldap.bind_dn", spec.BindDN, &cfg.BindDN},
		{"source.ldap.bind_password", spec.BindPassword, &cfg.BindPassword},
		{"source.ldap.base_dn", spec.BaseDN, &search.BaseDN},
		{"source.ldap.filter", spec.Filter, &search.Filter},
	} {
		s, err := strategies.Expand(v.key, v.in)
		if err != nil {
			return nil, err
		}
		*v.out = s
	}
	if spec.CAFile != "" {
		ca, err := p.Resolve("source.ldap.ca_file", spec.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.CAFile = ca
	}
	cfg.StartTLS = spec.StartTLS
	if search.Filter == "" {
		search.Filter = DefaultLDAPFilter
	}
	if _, err := ldap.CompileFilter(search.Filter); err != nil {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.ldap.filter",
			Message: fmt.Sprintf("%q is not an LDAP filter; write e.g. (objectClass=inetOrgPerson) or (&(objectClass=person)(mail=*))", search.Filter), Err: err}
	}
	search.Attributes = spec.Attributes
	search.PageSize = spec.PageSize
	// Columns are named as the plan lists the attributes, whatever case the server uses,
	// so the mapping can use the names the plan gave.
	names := map[string]string{}
	for _, a := range spec.Attributes {
		names[strings.ToLower(a)] = a
	}
	conn, err := directory.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &ldapSource{cfg: cfg, search: search, names: names, conn: conn}, nil
}

// fields turns an entry into record fields under the plan's attribute names.
func (s *ldapSource) fields(e *ldap.Entry) map[string]any {
	for _, a := range e.Attributes {
		if n, ok := s.names[strings.ToLower(a.Name)]; ok {
			a.Name = n
		}
	}
	return entryFields(e.DN, e.Attributes)
}

// ldapPos is where a read of a directory stands: the row number and DN of the last
// entry read. Paging cookies do not outlive a connection, so a resumed read searches
// again and skips that many entries, checking that the last one is the same entry.
type ldapPos struct {
	row int
	dn  string
}

func (p ldapPos) String() string { return "l1:" + strconv.Itoa(p.row) + ":" + p.dn }

func parseLDAPPos(s string) (ldapPos, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] != "l1" {
		return ldapPos{}, badPos(s, nil)
	}
	row, err := strconv.Atoi(parts[1])
	if err != nil || row < 0 {
		return ldapPos{}, badPos(s, err)
	}
	return ldapPos{row: row, dn: parts[2]}, nil
}

// Read implements Source. Each Read has its own connection, so a long read does not
// hold up lookups.
func (s *ldapSource) Read(ctx context.Context, after string, fn func(Record) error) error {
	var from ldapPos
	if after != "" {
		var err error
		if from, err = parseLDAPPos(after); err != nil {
			return err
		}
	}
	conn, err := directory.Dial(ctx, s.cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	row := 0
	return conn.Each(ctx, s.search, func(e *ldap.Entry) error {
		row++
		if row <= from.row {
			if row == from.row && !strings.EqualFold(e.DN, from.dn) {
				return &strategies.Error{Code: strategies.CodeSource, Field: "resume",
					Message: fmt.Sprintf("the directory changed since the run stopped: entry %d is %q, was %q; start again without --resume (rows already imported are skipped at the target)", row, e.DN, from.dn)}
			}
			return nil
		}
		return fn(Record{Row: row, Pos: ldapPos{row: row, dn: e.DN}.String(), Fields: s.fields(e)})
	})
}

// shared returns the connection for lookups, dialling again when the server closed it.
func (s *ldapSource) shared(ctx context.Context) (*directory.Conn, error) {
	if s.conn != nil && !s.conn.Closing() {
		return s.conn, nil
	}
	if s.conn != nil {
		s.conn.Close()
	}
	c, err := directory.Dial(ctx, s.cfg)
	if err != nil {
		s.conn = nil
		return nil, err
	}
	s.conn = c
	return c, nil
}

// Find implements Finder with an equality search under the base DN: the directory's
// own matching rule compares (mail and uid ignore case). Records have Row 0 and no Pos.
func (s *ldapSource) Find(ctx context.Context, column, value string) ([]Record, error) {
	if !validAttrName(column) {
		return nil, &strategies.Error{Code: strategies.CodeSource, Field: column, Message: "is not an LDAP attribute name; map an attribute such as mail or uid"}
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, nil
	}
	q := s.search
	q.Filter = "(&" + s.search.Filter + "(" + column + "=" + ldap.EscapeFilter(value) + "))"
	q.PageSize = 10
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.shared(ctx)
	if err != nil {
		return nil, err
	}
	var out []Record
	err = conn.Each(ctx, q, func(e *ldap.Entry) error {
		out = append(out, Record{Fields: s.fields(e)})
		if len(out) > 100 {
			return fmt.Errorf("look up %s=%q: more than 100 entries match", column, value)
		}
		return nil
	})
	return out, err
}

// validAttrName accepts an attribute description (name or OID, with options).
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == ';' || c == '.') {
			return false
		}
	}
	return true
}

// Count implements Counter with a paged search that returns no attributes (exact).
func (s *ldapSource) Count(ctx context.Context) (int64, bool, error) {
	q := s.search
	q.Attributes = []string{"1.1"} // RFC 4511: no attributes
	s.mu.Lock()
	defer s.mu.Unlock()
	conn, err := s.shared(ctx)
	if err != nil {
		return 0, false, err
	}
	var n int64
	err = conn.Each(ctx, q, func(*ldap.Entry) error { n++; return nil })
	return n, err == nil, err
}

// Sample implements Sampler.
func (s *ldapSource) Sample(ctx context.Context, n int) ([]Record, error) { return sample(ctx, s, n) }

// Describe implements Describer: the attributes seen in the first 1,000 entries, like
// the columns of a table, and the exact number of entries.
func (s *ldapSource) Describe(ctx context.Context) (*Schema, error) {
	recs, err := s.Sample(ctx, 1000)
	if err != nil {
		return nil, err
	}
	t := Table{Name: s.search.BaseDN, EstimatedRows: -1, Columns: describeEntries(recs)}
	if n, _, err := s.Count(ctx); err == nil {
		t.EstimatedRows = n
	}
	return &Schema{Kind: strategies.SourceLDAP, Version: "ldap " + s.search.Filter, Tables: []Table{t}}, nil
}

// Close implements Source.
func (s *ldapSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}
