package strategies

// SourceKind is a kind of legacy source (the plan's source.kind) and what a plan needs
// for it. The kinds are the rows of one table, sourceKinds: adding one that an existing
// reader can read is one line there (sources.Open picks the reader by Reader).
type SourceKind struct {
	Name  string // source.kind
	Title string // what the wizard offers: "PostgreSQL", "CSV file"
	// Server names a database server in a version string ("PostgreSQL 16.2"); "" for files.
	Server string
	// Database kinds are read with SQL: they need source.table or source.query.
	Database bool
	// DSN kinds are reached through source.dsn; the others read the file at source.path.
	DSN bool
	// Directory kinds are reached through source.ldap (URL, bind, base DN).
	Directory bool
	// Sparse kinds leave a field out of a record that does not have it (JSON exports,
	// directory entries), so a mapped column missing from every record read is only
	// a warning there; elsewhere it is a misspelt column.
	Sparse bool
	// Reader is the reader in package sources that reads this kind: "sql", "csv", "json".
	Reader string
}

// sourceKinds is the table of source kinds, in the order the wizard offers them.
var sourceKinds = []SourceKind{
	{Name: SourceSQLite, Title: "SQLite database file", Server: "SQLite", Database: true, Reader: "sql"},
	{Name: SourcePostgres, Title: "PostgreSQL", Server: "PostgreSQL", Database: true, DSN: true, Reader: "sql"},
	{Name: SourceMySQL, Title: "MySQL / MariaDB", Server: "MySQL", Database: true, DSN: true, Reader: "sql"},
	{Name: SourceCSV, Title: "CSV file", Reader: "csv"},
	{Name: SourceJSON, Title: "JSON file (array of users)", Sparse: true, Reader: "json"},
	{Name: SourceNDJSON, Title: "NDJSON file (one user per line)", Sparse: true, Reader: "json"},
	{Name: SourceAuth0, Title: "Auth0 export", Sparse: true, Reader: "json"},
	{Name: SourceFirebase, Title: "Firebase export", Sparse: true, Reader: "json"},
	{Name: SourceLDIF, Title: "LDIF file (slapcat, ldapsearch)", Sparse: true, Reader: "ldif"},
	{Name: SourceLDAP, Title: "LDAP directory (OpenLDAP, Active Directory)", Server: "LDAP", Directory: true, Sparse: true, Reader: "ldap"},
}

// SourceKinds returns the source kinds, in the order the wizard offers them.
func SourceKinds() []SourceKind { return append([]SourceKind(nil), sourceKinds...) }

// SourceKindOf returns the kind named name; ok is false for an unknown name.
func SourceKindOf(name string) (k SourceKind, ok bool) {
	for _, k := range sourceKinds {
		if k.Name == name {
			return k, true
		}
	}
	return SourceKind{}, false
}

// IsDatabase reports whether the named source kind is a database read with SQL.
func IsDatabase(kind string) bool {
	k, _ := SourceKindOf(kind)
	return k.Database
}

// sourceKindNames lists the kinds' names in the order of the plan's documentation.
func sourceKindNames() []string {
	out := make([]string, 0, len(sourceKinds))
	for _, k := range sourceKinds {
		out = append(out, k.Name)
	}
	return out
}
