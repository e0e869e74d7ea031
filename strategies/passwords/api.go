// Package passwords is cutover's truth about legacy password hashes: it detects a
// hash's format, verifies a password against it, and converts it to what a target accepts.
// Each format family lives in its own file and joins one immutable table (registry.go).
package passwords

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
)

// Stored is a legacy password as the old system kept it.
type Stored struct {
	Hash   string // the hash string as stored
	Salt   string // a salt kept in a separate column, if any
	Format string // a format name, "recipe:<expr>", or "" / "auto" to detect
}

// Options configure a Verifier with the project-wide parameters some formats need.
type Options struct {
	Key      []byte          // pepper / HMAC key for recipes and keyed formats
	Firebase *FirebaseConfig // Firebase's modified scrypt parameters

	// DecoyHash is verified by VerifyUnknown so that an unknown user costs what a known
	// one does. Give a hash in the same format and with the same cost as the real users'
	// (its password does not matter); empty means a bcrypt hash of DecoyCost.
	DecoyHash string
	// DecoyCost is the bcrypt cost of the default decoy; 0 means bcrypt.DefaultCost (10).
	DecoyCost int
	// FormatSetting is how messages name the setting that says a hash's format: the
	// plan's password_format when empty, or a command's flag such as "--format".
	FormatSetting string
}

// FirebaseConfig holds a Firebase project's password hash parameters.
type FirebaseConfig struct {
	SignerKey     string `json:"base64_signer_key"`
	SaltSeparator string `json:"base64_salt_separator"`
	Rounds        int    `json:"rounds"`
	MemCost       int    `json:"mem_cost"`
}

// Detection is a guess at a hash's format.
type Detection struct {
	Format     string            // format name, e.g. "bcrypt", "django_pbkdf2_sha256"
	Confidence float64           // 0..1; below 1 when another format looks alike
	Params     map[string]string // cost, iterations, salt length...
	Weak       bool              // accepted for verification but flagged in reports
}

// Info describes a format for the wizard, preflight and reports.
type Info struct {
	Name     string // format name as written in a plan
	Family   string // e.g. "bcrypt", "django", "ldap", "digest"
	Weak     bool   // fast or unsalted: accepted, but flagged in reports
	Authgear bool   // can be imported into Authgear (as-is or after Convert)
	Doc      string // one line: what the stored value looks like
}

// Caps on the cost parameters a stored hash may ask for. A legacy table is input we do
// not control: a hostile or corrupted row must not make one verification burn minutes
// of CPU or gigabytes of memory. A hash above a cap is reported as malformed.
const (
	MaxBcryptCost        = 15         // 2^15 rounds, about 2 s on a laptop core
	MaxPBKDF2Iterations  = 10_000_000 // Django 5.x uses about 1,000,000
	MaxScryptMemory      = 512 << 20  // bytes: 128 * N * r
	MaxScryptParallelism = 16
	MaxArgon2MemoryKiB   = 1 << 20 // 1 GiB
	MaxArgon2Time        = 20
	MaxArgon2Threads     = 64
	MaxCryptRounds       = 10_000_000 // sha256-crypt / sha512-crypt rounds=
	MaxPhpassLog2        = 24         // phpass allows 2^30 md5 rounds; 2^24 is already seconds
	MaxHashLength        = 4096       // bytes in a stored hash string
	MaxPasswordLength    = 4096       // longer passwords never match (bounded work)
)

// ErrUnknownFormat is returned when no format matches a hash.
var ErrUnknownFormat = errors.New("unknown password hash format")

// ErrMalformedHash is wrapped by errors about a hash that claims a format but breaks it
// (bad encoding, missing fields, a cost above its cap).
var ErrMalformedHash = errors.New("malformed password hash")

// ErrUnsupported is wrapped by errors about a known format this package cannot verify
// (e.g. DES crypt inside {CRYPT}, argon2 version 16, Firebase scrypt without a config).
var ErrUnsupported = errors.New("unsupported password hash")

// Verifier verifies passwords with a fixed set of options. It is safe for concurrent use.
type Verifier struct {
	opts Options

	decoyOnce sync.Once
	decoy     Stored
	decoyErr  error
}

// New returns a Verifier. It checks the Firebase configuration, if any, up front.
func New(opts Options) (*Verifier, error) {
	if opts.Firebase != nil {
		if _, err := opts.Firebase.decode(); err != nil {
			return nil, err
		}
	}
	if opts.DecoyCost != 0 && (opts.DecoyCost < bcrypt.MinCost || opts.DecoyCost > MaxBcryptCost) {
		return nil, fmt.Errorf("new password verifier: decoy cost %d is outside %d..%d", opts.DecoyCost, bcrypt.MinCost, MaxBcryptCost)
	}
	opts.Key = slices.Clone(opts.Key)
	return &Verifier{opts: opts}, nil
}

// Options returns the options v was made with (a copy of the key).
func (v *Verifier) Options() Options {
	o := v.opts
	o.Key = slices.Clone(o.Key)
	return o
}

// Detect returns the most likely format of s. With s.Format set (and not "auto") it
// checks that the hash really has that shape and returns its parameters. When two
// formats look alike (a bare hex digest with a salt column: salt+password or
// password+salt?) Confidence is below 1 and Params["alternatives"] lists the others;
// Verify tries all of them.
func (v *Verifier) Detect(s Stored) (Detection, error) {
	all, err := v.DetectAll(s)
	if err != nil {
		return Detection{}, err
	}
	d := all[0]
	var alts []string
	for _, o := range all[1:] {
		if o.Confidence == d.Confidence {
			alts = append(alts, o.Format)
		}
	}
	if len(alts) > 0 {
		d.Params["alternatives"] = strings.Join(alts, ",")
	}
	return d, nil
}

// DetectAll returns every format s could be in, the most likely first.
func (v *Verifier) DetectAll(s Stored) ([]Detection, error) {
	if len(s.Hash) > MaxHashLength {
		return nil, malformed("", "the hash is %d bytes long; the longest accepted is %d", len(s.Hash), MaxHashLength)
	}
	name := strings.TrimSpace(s.Format)
	if name != "" && name != "auto" {
		f, expr, err := lookup(name)
		if err != nil {
			return nil, v.named(err)
		}
		if expr != "" {
			r, err := ParseRecipe(expr)
			if err != nil {
				return nil, err
			}
			return []Detection{{Format: "recipe", Confidence: 1, Params: map[string]string{"expression": r.String()}, Weak: true}}, nil
		}
		params, err := f.parse(v, s)
		if err != nil {
			return nil, err
		}
		return []Detection{{Format: f.name, Confidence: 1, Params: params, Weak: f.weak}}, nil
	}
	if s.Hash == "" {
		return nil, &strategies.Error{Code: strategies.CodeUnknownHash, Message: "the password hash is empty; map the column that holds it, or leave the user without a password", Err: ErrUnknownFormat}
	}
	type cand struct {
		f    *format
		conf float64
	}
	var cands []cand
	for _, f := range registry.list {
		if c := f.sniff(v, s); c > 0 {
			cands = append(cands, cand{f, c})
		}
	}
	if len(cands) == 0 {
		return nil, &strategies.Error{Code: strategies.CodeUnknownHash,
			Message: fmt.Sprintf("no known format looks like %s; %s", describeShape(s.Hash), v.formatHint()),
			Err:     ErrUnknownFormat}
	}
	// Stable: equal confidences keep registration order, which puts the documented
	// default (salt+password before password+salt) first.
	slices.SortStableFunc(cands, func(a, b cand) int {
		switch {
		case a.conf > b.conf:
			return -1
		case a.conf < b.conf:
			return 1
		}
		return 0
	})
	out := make([]Detection, 0, len(cands))
	var firstErr error
	for _, c := range cands {
		params, err := c.f.parse(v, s)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		out = append(out, Detection{Format: c.f.name, Confidence: c.conf, Params: params, Weak: c.f.weak})
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

// Verify reports whether password matches s. A mismatch is (false, nil); an error means
// the hash is malformed or its format unsupported, and says why.
func (v *Verifier) Verify(ctx context.Context, s Stored, password string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if len(password) > MaxPasswordLength {
		// No legacy system we know of stores passwords this long; bounded work wins.
		return false, nil
	}
	all, err := v.DetectAll(s)
	if err != nil {
		return false, err
	}
	if all[0].Format == "recipe" {
		_, expr, _ := lookup(strings.TrimSpace(s.Format))
		r, err := ParseRecipe(expr)
		if err != nil {
			return false, v.named(err)
		}
		return r.verify(v, s, password)
	}
	// Ambiguous shapes (only ever cheap digests) are tried in turn.
	for _, d := range all {
		if d.Confidence < all[0].Confidence {
			break
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		ok, err := registry.byName[d.Format].verify(ctx, v, s, password)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// VerifyUnknown costs what a real verification of the default format costs and always
// fails; call it when the user does not exist so timing does not reveal that.
func (v *Verifier) VerifyUnknown(ctx context.Context, password string) {
	v.decoyOnce.Do(func() {
		if v.opts.DecoyHash != "" {
			v.decoy = Stored{Hash: v.opts.DecoyHash}
			return
		}
		cost := v.opts.DecoyCost
		if cost == 0 {
			cost = bcrypt.DefaultCost
		}
		// A random secret nobody knows: the decoy can never match.
		h, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
		v.decoy, v.decoyErr = Stored{Hash: string(h), Format: "bcrypt"}, err
	})
	if v.decoyErr != nil {
		return
	}
	_, _ = v.Verify(ctx, v.decoy, password)
}

// formatHint says how to name a hash's format where no format fits it.
func (v *Verifier) formatHint() string {
	if v.opts.FormatSetting == "" {
		return "set password_format to a format name or a recipe (see 'cutover hash detect --help')"
	}
	return "give " + v.opts.FormatSetting + " a format name or recipe:<expression> ('cutover hash --help' lists the formats)"
}

// named makes an error about the plan's password_format name the Verifier's
// FormatSetting instead: a command's flag is what its user can change.
func (v *Verifier) named(err error) error {
	var e *strategies.Error
	if v.opts.FormatSetting != "" && errors.As(err, &e) && e.Field == "password_format" {
		c := *e
		c.Field = v.opts.FormatSetting
		return &c
	}
	return err
}

// Importable reports whether a hash of this format can be imported into the target
// as-is or after conversion ("authgear": bcrypt only; "permissive": anything verifiable).
func Importable(format, target string) bool {
	if target == "permissive" {
		_, _, err := lookup(format)
		return err == nil
	}
	f, ok := registry.byName[format]
	return ok && f.authgear && (target == "authgear" || target == "")
}

// Convert turns s into the hash string and type a target imports, e.g. Django's
// "bcrypt$$2b$..." into plain bcrypt for Authgear. ok is false when it cannot travel.
func (v *Verifier) Convert(s Stored, target string) (hash, typ string, ok bool) {
	d, err := v.Detect(s)
	if err != nil || d.Confidence < 1 || !Importable(d.Format, target) {
		return "", "", false
	}
	if target == "permissive" {
		return s.Hash, d.Format, true
	}
	f := registry.byName[d.Format]
	if f.toBcrypt == nil {
		return s.Hash, "bcrypt", true
	}
	return f.toBcrypt(s.Hash), "bcrypt", true
}

// Hash makes a hash of password in the given format, for fixtures, the demo database
// and rehearsals. Only some formats can be produced (see HashFormats).
func Hash(format, password string) (Stored, error) {
	f, ok := registry.byName[format]
	if !ok || f.hash == nil {
		return Stored{}, fmt.Errorf("hash password: cannot produce %q hashes; choose one of %s", format, strings.Join(HashFormats(), ", "))
	}
	s, err := f.hash(password)
	if err != nil {
		return Stored{}, fmt.Errorf("hash password as %s: %w", format, err)
	}
	s.Format = format
	return s, nil
}

// HashFormats lists the formats Hash can produce.
func HashFormats() []string {
	var out []string
	for _, f := range registry.list {
		if f.hash != nil {
			out = append(out, f.name)
		}
	}
	return out
}

// FormatNames lists every format name a plan may use, in registration order, plus
// "recipe" (written as "recipe:<expression>").
func FormatNames() []string {
	out := make([]string, 0, len(registry.list)+1)
	for _, f := range registry.list {
		out = append(out, f.name)
	}
	return append(out, "recipe")
}

// Describe returns what is known about a format; ok is false for an unknown name.
func Describe(format string) (Info, bool) {
	if format == "recipe" || strings.HasPrefix(format, "recipe:") {
		return Info{Name: "recipe", Family: "recipe", Weak: true, Doc: "a home-grown scheme written as an expression, e.g. recipe:sha256(salt + password)"}, true
	}
	f, ok := registry.byName[format]
	if !ok {
		return Info{}, false
	}
	return Info{Name: f.name, Family: f.family, Weak: f.weak, Authgear: f.authgear, Doc: f.doc}, true
}

// lookup resolves a plan's format name; expr is set for "recipe:<expr>".
func lookup(name string) (f *format, expr string, err error) {
	if e, ok := strings.CutPrefix(name, "recipe:"); ok {
		return nil, strings.TrimSpace(e), nil
	}
	if f, ok := registry.byName[name]; ok {
		return f, "", nil
	}
	return nil, "", &strategies.Error{Code: strategies.CodeUnknownHash, Field: "password_format",
		Message: fmt.Sprintf("%q is not a known format; use one of %s, or recipe:<expression>", name, strings.Join(FormatNames()[:len(FormatNames())-1], ", ")),
		Err:     ErrUnknownFormat}
}

// malformed builds the error for a hash that breaks its format's rules.
func malformed(format, msg string, args ...any) error {
	m := fmt.Sprintf(msg, args...)
	if format != "" {
		m = format + " hash: " + m
	}
	return &strategies.Error{Code: strategies.CodeMalformedHash, Field: "password_hash", Message: m, Err: ErrMalformedHash}
}

// unsupported builds the error for a recognised hash this package cannot verify.
func unsupported(format, msg string, args ...any) error {
	return &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_hash", Message: format + " hash: " + fmt.Sprintf(msg, args...), Err: ErrUnsupported}
}

// randomSalt returns n random bytes rendered as lower hex (2n characters).
func randomSalt(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Unusable reports whether a stored value marks a password that can never be used to
// sign in: Django's unusable password ("!" followed by random characters, what
// set_unusable_password stores for social-login users) and the locked or disabled
// markers of shadow files and LDAP ("!", "!!", "*", "*LK*", "!$6$..."). Such users move
// without a password rather than as invalid rows.
func Unusable(hash string) bool {
	h := strings.TrimSpace(hash)
	return strings.HasPrefix(h, "!") || h == "*" || h == "*LK*" || h == "*NP*"
}

// Explanation is what `cutover hash detect` tells about a hash: its format, how sure
// the detection is, and what that means for a migration. It holds parameters (cost,
// iterations), never the hash.
type Explanation struct {
	Format     string            `json:"format"`
	Confidence float64           `json:"confidence"`
	Weak       bool              `json:"weak"`
	Authgear   bool              `json:"authgear"`
	Params     map[string]string `json:"params"`
	Doc        string            `json:"-"`
}

// Explain describes a detection.
func Explain(d Detection) Explanation {
	info, _ := Describe(d.Format)
	return Explanation{Format: d.Format, Confidence: d.Confidence, Weak: d.Weak, Authgear: info.Authgear, Params: d.Params, Doc: info.Doc}
}

// Text is the explanation as aligned lines, parameters sorted by name.
func (e Explanation) Text() string {
	yes := map[bool]string{true: "yes", false: "no"}
	var b strings.Builder
	fmt.Fprintf(&b, "format:      %s\nconfidence:  %.2f\ndescription: %s\nweak:        %s\nauthgear:    %s\n",
		e.Format, e.Confidence, e.Doc, yes[e.Weak], yes[e.Authgear])
	for _, k := range slices.Sorted(maps.Keys(e.Params)) {
		fmt.Fprintf(&b, "%-12s %s\n", k+":", e.Params[k])
	}
	return b.String()
}
