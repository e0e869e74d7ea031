package strategies

// What the wizard shows of a source before anything runs: the connection test's
// answer and the preview of mapped rows. The engine fills them (sources.Probe,
// preflight.Preview); the wizard only draws them.

// SourceProbe is what a successful connection test found.
type SourceProbe struct {
	Version string      // server version ("PostgreSQL 15.4") or file kind ("CSV file")
	Rows    int64       // file sources: records in the file; -1 when unknown
	Tables  []TableInfo // database sources: the tables that look like users tables first
}

// TableInfo is one table of a database source.
type TableInfo struct {
	Name    string
	Rows    int64 // estimate; -1 when unknown
	Columns []string
}

// Preview is the preview step's content: mapped rows, validation and preflight.
type Preview struct {
	Columns        []string   // canonical field names, in display order
	Rows           [][]string // the first mapped rows; hashes already truncated by the engine
	Total          int64      // rows read for the summary; -1 when unknown
	Invalid        map[string]int
	Examples       []InvalidExample
	Formats        []FormatCount
	Recommendation string // the preflight's recommended strategy and why
	// Lockouts has one line per target (the plan's first): who keeps their password
	// there and how many users each of its rules would lock out.
	Lockouts []string
}

// InvalidExample is one invalid row shown as an example of its reason.
type InvalidExample struct {
	Row    int
	Reason string
	Detail string
}

// FormatCount is one bar of the password-format histogram.
type FormatCount struct {
	Format     string
	Count      int
	Importable bool // the target can import hashes of this format as they are
}
