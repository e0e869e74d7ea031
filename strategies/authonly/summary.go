package authonly

import (
	"fmt"
	"strings"
)

// Summary is the write-back in Markdown, as `cutover run` prints it after the import
// summary: the DDL (run, or to run) and the counts.
func (wb *WriteBack) Summary() string {
	var b strings.Builder
	w := &b
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
	return b.String()
}
