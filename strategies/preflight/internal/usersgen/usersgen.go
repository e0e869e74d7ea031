// Package usersgen writes large, deterministic legacy users CSVs for preflight tests,
// benchmarks and memory measurements, and says what a correct preflight reports on them.
package usersgen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/cutover/cutover/strategies/passwords"
)

// Header is the CSV header Write writes.
const Header = "id,email,email_verified,name,is_active,password"

// Stats is what a correct preflight reports for a generated file.
type Stats struct {
	Rows            int
	Valid           int
	Invalid         map[string]int // reason -> rows
	Duplicates      int            // duplicate groups
	Formats         map[string]int // over valid rows
	WithoutPassword int
}

// Write writes n users: per 1,000 rows one invalid email and one upper-cased duplicate
// of the email 100 rows earlier; per 100 valid rows 70 bcrypt, 20 Django PBKDF2, 8 phpass
// hashes and 2 users without a password.
func Write(w io.Writer, n int) (Stats, error) {
	pool := map[string][]string{}
	for _, f := range []string{"bcrypt", "django_pbkdf2_sha256", "phpass"} {
		for i := range 4 {
			s, err := passwords.Hash(f, fmt.Sprintf("password-%d", i))
			if err != nil {
				return Stats{}, fmt.Errorf("make a %s fixture: %w", f, err)
			}
			pool[f] = append(pool[f], s.Hash)
		}
	}
	st := Stats{Rows: n, Invalid: map[string]int{}, Formats: map[string]int{}}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(Header + "\n")
	var b []byte
	for i := 1; i <= n; i++ {
		email := "user" + strconv.Itoa(i) + "@example.com"
		switch i % 1000 {
		case 500:
			email = "user" + strconv.Itoa(i) + ".example.com"
			st.Invalid["invalid_email"]++
		case 700:
			if i > 100 {
				email = strings.ToUpper("user" + strconv.Itoa(i-100) + "@example.com")
				st.Invalid["duplicate_identifier"]++
				st.Duplicates++
			}
		}
		format := ""
		switch p := i % 100; {
		case p < 70:
			format = "bcrypt"
		case p < 90:
			format = "django_pbkdf2_sha256"
		case p < 98:
			format = "phpass"
		}
		hash := ""
		if format != "" {
			hash = pool[format][i%4]
		}
		if m := i % 1000; m != 500 && (m != 700 || i <= 100) {
			st.Valid++
			if format == "" {
				st.WithoutPassword++
			} else {
				st.Formats[format]++
			}
		}
		b = b[:0]
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
		b = append(b, email...)
		b = append(b, ',')
		b = append(b, "tf"[i%2])
		b = append(b, ",User "...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
		b = append(b, "10"[min(i%10, 1)])
		b = append(b, ',')
		b = append(b, hash...)
		b = append(b, '\n')
		if _, err := bw.Write(b); err != nil {
			return st, fmt.Errorf("write users csv: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return st, fmt.Errorf("write users csv: %w", err)
	}
	return st, nil
}
