package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// exitBadHash is what `hash verify` returns for a malformed or unsupported hash; the
// issue fixes it at 2, which is also the usage code.
const exitBadHash = exitUsage

// hashFlags are the options shared by `hash detect` and `hash verify`.
type hashFlags struct {
	hash, salt, format string
	keyEnv, firebase   string
	json               bool
}

func newHashCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "hash",
		Short: "Diagnose a legacy password hash",
		Long: `Diagnose one legacy password hash: which format it is in, with which parameters,
whether a password matches it, and whether Authgear can import it as it is.

Run 'cutover hash detect' on a sample from your users table before choosing a
strategy, and 'cutover hash verify' with a password you know (a test account) to
prove cutover reads the format right.

` + strategies.Wrap("Formats: "+strings.Join(passwords.FormatNames(), ", ")+".", 80),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("choose 'cutover hash detect HASH' or 'cutover hash verify --hash HASH'")
		},
	}
	cmd.AddCommand(newHashDetectCmd(a), newHashVerifyCmd(a))
	return cmd
}

func newHashDetectCmd(a *app) *cobra.Command {
	var f hashFlags
	cmd := &cobra.Command{
		Use:   "detect HASH",
		Short: "Print a hash's format and parameters",
		Long: `Print the format of a stored password hash and its parameters (cost, iterations,
salt length...), whether it is a weak format, and whether Authgear can import it.
When two formats look alike (a bare hex digest with a salt column), the most likely
is printed with a confidence below 1 and the alternatives.

Quote the hash in single quotes: it usually contains '$'.

Exit codes: 0 the format is known, 2 the hash is malformed or of no known format.`,
		Example: `  cutover hash detect '$2y$10$owQAzz8KWyWMV1vAX.7VT.KJ4fHp5CRDH5m4S2KlfKoarZR8AdMcy'
  cutover hash detect --salt 'x7Rq' 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
  cutover hash detect --json 'pbkdf2_sha256$260000$hoZrBAIgQQcrSmioVecBam$FeaL1qJ5ISjDkRie15iMhA8T1THum/n4TYtZeG4qWuA='`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.hash = args[0]
			return runHashDetect(a, f)
		},
	}
	addHashFlags(cmd, &f)
	return cmd
}

func newHashVerifyCmd(a *app) *cobra.Command {
	var f hashFlags
	cmd := &cobra.Command{
		Use:   "verify --hash HASH",
		Short: "Check a password against a hash (password on standard input)",
		Long: `Check whether a password matches a stored hash. The password is read from the
first line of standard input, never from the command line (where it would land in
your shell history and the process list).

Exit codes: 0 the password matches, 1 it does not, 2 the hash is malformed or its
format unsupported (the message says why).`,
		Example: `  printf '%s\n' "$TEST_PASSWORD" | cutover hash verify --hash '$P$Byc8RINFvCOOtlFm.w19x1Ukd8jOKA1'
  cutover hash verify --hash "$HASH" --salt "$SALT" --format sha256_salt_password < password.txt
  cutover hash verify --hash "$HASH" --format 'recipe:md5(md5(password) + salt)' --salt "$SALT" --json < pw.txt
  cutover hash verify --hash "$HASH" --salt "$SALT" --firebase-config hash_config.json < pw.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.hash == "" {
				return usagef("--hash is required: the stored hash to check against")
			}
			return runHashVerify(cmd, a, f)
		},
	}
	cmd.Flags().StringVar(&f.hash, "hash", "", "the stored hash (quote it: it usually contains '$')")
	cmd.Flags().StringVar(&f.keyEnv, "key-env", "", "name of an environment variable holding the HMAC key/pepper for recipes")
	addHashFlags(cmd, &f)
	return cmd
}

func addHashFlags(cmd *cobra.Command, f *hashFlags) {
	cmd.Flags().StringVar(&f.salt, "salt", "", "the salt, when the legacy table keeps it in its own column")
	cmd.Flags().StringVar(&f.format, "format", "", "the format name or recipe:<expression> (default: detect)")
	cmd.Flags().StringVar(&f.firebase, "firebase-config", "", "JSON file with the Firebase project's hash config (base64_signer_key, base64_salt_separator, rounds, mem_cost)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON instead of text")
}

// newHashVerifier builds the verifier the flags describe.
func newHashVerifier(f hashFlags) (*passwords.Verifier, error) {
	opts := passwords.Options{FormatSetting: "--format"}
	if f.firebase != "" {
		b, err := os.ReadFile(f.firebase)
		if err != nil {
			return nil, usagef("read --firebase-config: %w", err)
		}
		if opts.Firebase, err = sources.ParseHashConfig(f.firebase, b); err != nil {
			return nil, usageError{err: err, showHelp: true}
		}
	}
	if f.keyEnv != "" {
		k, ok := os.LookupEnv(f.keyEnv)
		if !ok {
			return nil, usagef("--key-env: environment variable %s is not set", f.keyEnv)
		}
		opts.Key = []byte(k)
	}
	v, err := passwords.New(opts)
	if err != nil {
		return nil, usageError{err: err, showHelp: true}
	}
	return v, nil
}

func runHashDetect(a *app, f hashFlags) error {
	v, err := newHashVerifier(f)
	if err != nil {
		return err
	}
	d, err := v.Detect(passwords.Stored{Hash: f.hash, Salt: f.salt, Format: f.format})
	if err != nil {
		return badHash(a, fmt.Errorf("detect hash format: %w", err))
	}
	r := passwords.Explain(d)
	if f.json {
		return json.NewEncoder(a.stdout).Encode(r)
	}
	_, err = io.WriteString(a.stdout, r.Text())
	return err
}

func runHashVerify(cmd *cobra.Command, a *app, f hashFlags) error {
	v, err := newHashVerifier(f)
	if err != nil {
		return err
	}
	password, err := readPassword(a.stdin, `printf '%s\n' "$PW" | cutover hash verify --hash ...`)
	if err != nil {
		return err
	}
	s := passwords.Stored{Hash: f.hash, Salt: f.salt, Format: f.format}
	name := f.format
	if d, err := v.Detect(s); err == nil {
		name = d.Format
	}
	ok, err := v.Verify(cmd.Context(), s, password)
	if err != nil {
		if ctxErr := cmd.Context().Err(); ctxErr != nil {
			return ctxErr // cancelled: main maps it to 130
		}
		if f.json {
			_ = json.NewEncoder(a.stdout).Encode(map[string]any{"format": name, "match": false, "error": err.Error()})
		}
		return badHash(a, fmt.Errorf("verify password: %w", err))
	}
	if f.json {
		if err := json.NewEncoder(a.stdout).Encode(map[string]any{"format": name, "match": ok}); err != nil {
			return err
		}
	} else if ok {
		fmt.Fprintf(a.stdout, "match (%s)\n", name)
	} else {
		fmt.Fprintf(a.stdout, "no match (%s)\n", name)
	}
	if !ok {
		return quietError{exitFailure}
	}
	return nil
}

// badHash reports a malformed, unknown or unsupported hash with exit status 2. It prints
// the error itself: main would add a "see --help" hint meant for bad flags.
func badHash(a *app, err error) error {
	fmt.Fprintf(a.stderr, "cutover: %v\n", err)
	return quietError{exitBadHash}
}
