package authonly_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// idpID is the IdP user id of row i: a UUID, so it also fits a uuid id column.
func idpID(i int) string { return fmt.Sprintf("0b10fd33-00b5-404a-be6e-%012d", i) }

// server starts a real Postgres or MariaDB for the test (skipped locally when the
// binaries are absent, fatal on CI) and returns a connection and its DSN.
func server(t *testing.T, kind string) (*sql.DB, string) {
	t.Helper()
	driver, dsn := "pgx", ""
	if kind == strategies.SourcePostgres {
		dsn = sourcetest.Postgres(t)
	} else {
		driver, dsn = "mysql", sourcetest.MariaDB(t)
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dsn
}

// openKeyed opens table (key column k unless key says) for write-back and adds the id
// column when absent. MySQL statements carry 2 rows at most, so that every batch of more
// than 2 rows spans several statements in its transaction.
func openKeyed(t *testing.T, kind, dsn, table, key string) *authonly.Table {
	t.Helper()
	p := &strategies.Plan{
		Version: strategies.PlanVersion, Strategy: strategies.StrategyAuthOnly,
		Source:  strategies.SourceSpec{Kind: kind, DSN: dsn, Table: table},
		Mapping: strategies.Mapping{LegacyID: strategies.FieldRef{Column: key}},
	}
	ctx := context.Background()
	tbl, err := authonly.OpenTable(ctx, p)
	if err != nil {
		t.Fatalf("open %s: %v", table, err)
	}
	t.Cleanup(func() { tbl.Close() })
	if _, err := tbl.EnsureColumn(ctx); err != nil {
		t.Fatal(err)
	}
	if kind == strategies.SourceMySQL {
		tbl.SetChunkRows(2)
	}
	return tbl
}

// rowsOf reads query (two columns: key as text, id) into key -> id ("" for NULL).
func rowsOf(t *testing.T, db *sql.DB, query string) map[string]string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v.String
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// snapshot renders every row of query, for comparing columns that must not change.
func snapshot(t *testing.T, db *sql.DB, query string) string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			fmt.Fprintf(&b, "%v|", v)
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestWriteBackKeyTypes writes into tables whose key is not a small integer: each row
// gets exactly its own id (integers above 2^53 are not confused, a key longer than a
// varchar column is not truncated onto another row, collations do not clash), other
// columns stay as they were (ON UPDATE CURRENT_TIMESTAMP included), the counts are
// right, and a re-run changes nothing.
func TestWriteBackKeyTypes(t *testing.T) {
	type keyCase struct {
		name    string
		ddl     []string
		table   string
		keys    []string // rows inserted; the last one gets no pair and stays NULL
		missing string   // a pair whose key is in no row (it must not land on the last one)
		others  string   // columns that must not change
	}
	cases := map[string][]keyCase{
		strategies.SourcePostgres: {
			{
				name:  "bigint above 2^53",
				ddl:   []string{"CREATE TABLE big (k bigint PRIMARY KEY, note text)"},
				table: "big", others: "note",
				keys:    []string{"9007199254740992", "9007199254740993", "9007199254740994", "9223372036854775807", "-9223372036854775808", "9007199254740996"},
				missing: "9007199254740995",
			},
			{
				name:  "uuid key and uuid id column",
				ddl:   []string{"CREATE TABLE uu (k uuid PRIMARY KEY, note text, idp_user_id uuid NULL)"},
				table: "uu", others: "note",
				keys:    []string{"5f0c6c3e-2a52-4c58-9d43-000000000001", "5f0c6c3e-2a52-4c58-9d43-000000000002", "5f0c6c3e-2a52-4c58-9d43-000000000003"},
				missing: "5f0c6c3e-2a52-4c58-9d43-000000000004",
			},
			{
				name:  "varchar key in another schema",
				ddl:   []string{"CREATE SCHEMA legacy", "CREATE TABLE legacy.members (k varchar(12) PRIMARY KEY, note text)"},
				table: "legacy.members", others: "note",
				keys:    []string{"alice", "Bob", "çé ñ", "abcdefghijkl"},
				missing: "abcdefghijklmnop",
			},
		},
		strategies.SourceMySQL: {
			{
				name:  "bigint above 2^53",
				ddl:   []string{"CREATE TABLE big (k BIGINT PRIMARY KEY, note VARCHAR(20))"},
				table: "big", others: "note",
				keys:    []string{"9007199254740992", "9007199254740993", "9007199254740994", "9223372036854775807", "-9223372036854775808", "9007199254740996"},
				missing: "9007199254740995", // equal to the last key as a double
			},
			{
				name:  "bigint unsigned above 2^63",
				ddl:   []string{"CREATE TABLE ubig (k BIGINT UNSIGNED PRIMARY KEY, note VARCHAR(20))"},
				table: "ubig", others: "note",
				keys:    []string{"1", "9223372036854775808", "18446744073709551615"},
				missing: "18446744073709551614",
			},
			{
				name: "varchar key, other collations, ON UPDATE column",
				ddl: []string{"CREATE TABLE members (k VARCHAR(12) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci PRIMARY KEY, note VARCHAR(20), " +
					"idp_user_id VARCHAR(64) CHARACTER SET latin1 COLLATE latin1_bin NULL, " +
					"changed TIMESTAMP NOT NULL DEFAULT '2001-02-03 04:05:06' ON UPDATE CURRENT_TIMESTAMP) DEFAULT CHARSET latin1"},
				table: "members", others: "note, changed",
				keys:    []string{"alice", "Bob", "çé ñ", "abcdefghijkl"},
				missing: "zed",
			},
		},
	}
	for _, kind := range []string{strategies.SourcePostgres, strategies.SourceMySQL} {
		t.Run(kind, func(t *testing.T) {
			db, dsn := server(t, kind)
			insert, read := "INSERT INTO %s (k, note) VALUES ($1, $2)", "SELECT k::text, idp_user_id::text FROM %s"
			if kind == strategies.SourceMySQL {
				insert, read = "INSERT INTO %s (k, note) VALUES (?, ?)", "SELECT CAST(k AS CHAR), idp_user_id FROM %s"
			}
			for _, c := range cases[kind] {
				t.Run(c.name, func(t *testing.T) {
					ctx := context.Background()
					for _, q := range c.ddl {
						if _, err := db.Exec(q); err != nil {
							t.Fatalf("%s: %v", q, err)
						}
					}
					for i, k := range c.keys {
						if _, err := db.Exec(fmt.Sprintf(insert, c.table), k, fmt.Sprintf("note %d", i)); err != nil {
							t.Fatalf("insert %s: %v", k, err)
						}
					}
					others := fmt.Sprintf("SELECT %s FROM %s ORDER BY k", c.others, c.table)
					before := snapshot(t, db, others)
					wdsn := dsn
					if kind == strategies.SourceMySQL {
						// Rows matched rather than rows changed: the counts must not rely on the default.
						wdsn += "&clientFoundRows=true"
					}
					tbl := openKeyed(t, kind, wdsn, c.table, "k")

					last := len(c.keys) - 1
					var pairs []authonly.Pair
					for i, k := range c.keys[:last] {
						pairs = append(pairs, authonly.Pair{LegacyID: k, IdPUserID: idpID(i)})
					}
					pairs = append(pairs, authonly.Pair{LegacyID: c.missing, IdPUserID: idpID(99)})
					st, err := tbl.Write(ctx, pairs, 3, nil)
					if err != nil {
						t.Fatalf("write: %v", err)
					}
					if st.Rows != int64(len(pairs)) || st.Updated != int64(last) || st.Unchanged != 1 {
						t.Errorf("first write: got rows %d updated %d unchanged %d, want %d, %d, 1", st.Rows, st.Updated, st.Unchanged, len(pairs), last)
					}
					got := rowsOf(t, db, fmt.Sprintf(read, c.table))
					if len(got) != len(c.keys) {
						t.Errorf("rows: got %d, want %d", len(got), len(c.keys))
					}
					for i, k := range c.keys {
						want := idpID(i)
						if i == last {
							want = ""
						}
						if got[k] != want {
							t.Errorf("row %s: got id %q, want %q", k, got[k], want)
						}
					}
					if after := snapshot(t, db, others); after != before {
						t.Errorf("other columns changed:\ngot  %s\nwant %s", after, before)
					}

					st, err = tbl.Write(ctx, pairs, 3, nil)
					if err != nil {
						t.Fatalf("second write: %v", err)
					}
					if st.Updated != 0 || st.Unchanged != int64(len(pairs)) {
						t.Errorf("second write: got updated %d unchanged %d, want 0, %d", st.Updated, st.Unchanged, len(pairs))
					}

					// The IdP re-created the first user: its new id replaces the old one.
					st, err = tbl.Write(ctx, []authonly.Pair{{LegacyID: c.keys[0], IdPUserID: idpID(50)}}, 3, nil)
					if err != nil {
						t.Fatalf("third write: %v", err)
					}
					if got := rowsOf(t, db, fmt.Sprintf(read, c.table))[c.keys[0]]; st.Updated != 1 || got != idpID(50) {
						t.Errorf("new id for %s: got updated %d and id %q, want 1 and %q", c.keys[0], st.Updated, got, idpID(50))
					}
					if after := snapshot(t, db, others); after != before {
						t.Errorf("other columns changed after a new id:\ngot  %s\nwant %s", after, before)
					}
				})
			}
		})
	}
}

// TestWriteBackBatchSQL checks what one batch statement does on a larger table: the
// join finds rows through the key's primary-key index, a legacy id twice in a batch
// ends with the later IdP id (as row-by-row writes did), and a key that is not an
// integer for an integer column fails the batch with the id named, writing nothing.
func TestWriteBackBatchSQL(t *testing.T) {
	const n = 5000
	for _, kind := range []string{strategies.SourcePostgres, strategies.SourceMySQL} {
		t.Run(kind, func(t *testing.T) {
			db, dsn := server(t, kind)
			ctx := context.Background()
			var vals []string
			for i := 1; i <= n; i++ {
				vals = append(vals, fmt.Sprintf("(%d, 'note')", i))
			}
			for _, q := range []string{
				"CREATE TABLE many (id bigint PRIMARY KEY, note varchar(20))",
				"INSERT INTO many (id, note) VALUES " + strings.Join(vals, ", "),
			} {
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%.80s: %v", q, err)
				}
			}
			tbl := openKeyed(t, kind, dsn, "many", "id")
			tbl.SetChunkRows(0)
			analyze := "ANALYZE many"
			if kind == strategies.SourceMySQL {
				analyze = "ANALYZE TABLE many"
			}
			if _, err := db.Exec(analyze); err != nil {
				t.Fatal(err)
			}
			read := "SELECT CAST(id AS CHAR), idp_user_id FROM many"

			t.Run("primary key index", func(t *testing.T) {
				pairs := make([]authonly.Pair, 500)
				for i := range pairs {
					pairs[i] = authonly.Pair{LegacyID: fmt.Sprint(i*9 + 1), IdPUserID: idpID(i)}
				}
				qs, args, err := tbl.BatchSQL(ctx, pairs)
				if err != nil {
					t.Fatal(err)
				}
				if len(qs) != 1 {
					t.Fatalf("statements for 500 rows: got %d, want 1", len(qs))
				}
				conn, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				if kind == strategies.SourcePostgres {
					// Made expensive, not impossible: if the key could not use its index
					// (compared as text, say) the plan would still scan the table.
					for _, q := range []string{"SET enable_seqscan = off", "SET enable_hashjoin = off", "SET enable_mergejoin = off"} {
						if _, err := conn.ExecContext(ctx, q); err != nil {
							t.Fatal(err)
						}
					}
				}
				plan := explain(t, conn, qs[0], args[0])
				var ok bool
				if kind == strategies.SourcePostgres {
					ok = strings.Contains(plan, "Index Scan using many_pkey") && strings.Contains(plan, "Index Cond: (id = v.k)")
				} else {
					ok = strings.Contains(plan, "table=t type=eq_ref") && strings.Contains(plan, "key=PRIMARY")
				}
				if !ok {
					t.Errorf("plan: got\n%s\nwant the key found through the primary key (one index lookup per row)", plan)
				}
			})

			t.Run("a legacy id twice in a batch", func(t *testing.T) {
				pairs := []authonly.Pair{{LegacyID: "1", IdPUserID: idpID(1)}, {LegacyID: "2", IdPUserID: idpID(2)}, {LegacyID: "1", IdPUserID: idpID(3)}}
				st, err := tbl.Write(ctx, pairs, 10, nil)
				if err != nil {
					t.Fatal(err)
				}
				got := rowsOf(t, db, read)
				if st.Updated != 2 || st.Unchanged != 1 || got["1"] != idpID(3) || got["2"] != idpID(2) {
					t.Errorf("got updated %d unchanged %d, row 1 %q, row 2 %q; want 2, 1, %q, %q", st.Updated, st.Unchanged, got["1"], got["2"], idpID(3), idpID(2))
				}
			})

			t.Run("a legacy id that is not an integer", func(t *testing.T) {
				pairs := []authonly.Pair{{LegacyID: "7", IdPUserID: idpID(7)}, {LegacyID: "seven", IdPUserID: idpID(8)}}
				_, err := tbl.Write(ctx, pairs, 10, nil)
				if err == nil || !strings.Contains(err.Error(), `legacy id "seven" is not an integer`) || !strings.Contains(err.Error(), "rows 1-2 of 2") {
					t.Errorf("got %v, want an error naming legacy id \"seven\" and rows 1-2", err)
				}
				if got := rowsOf(t, db, read)["7"]; got != "" {
					t.Errorf("row 7: got id %q, want NULL (the failed batch writes nothing)", got)
				}
			})
		})
	}
}

// explain returns the plan of query, one line per row ("col=value" pairs for MySQL).
func explain(t *testing.T, conn *sql.Conn, query string, args []any) string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "EXPLAIN "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			if bs, ok := v.([]byte); ok {
				v = string(bs)
			}
			if len(cols) > 1 {
				fmt.Fprintf(&b, "%s=", cols[i])
			}
			fmt.Fprintf(&b, "%v ", v)
		}
		b.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
