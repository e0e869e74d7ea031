package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies/passwords"
)

func TestHashVerify(t *testing.T) {
	bc, err := passwords.Hash("bcrypt", "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	salted, err := passwords.Hash("sha256_salt_password", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	fbCfg := filepath.Join(t.TempDir(), "hash_config.json")
	// Firebase's published sample (github.com/firebase/scrypt README).
	if err := os.WriteFile(fbCfg, []byte(`{"base64_signer_key":"jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==","base64_salt_separator":"Bw==","rounds":8,"mem_cost":14}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CUTOVER_TEST_PEPPER", "pep")
	tests := []struct {
		name    string
		stdin   string
		args    []string
		want    int
		wantOut string
		wantErr string
		badHash bool // malformed/unknown/unsupported: exit 2 without a usage hint
	}{
		{name: "match", stdin: "hunter2\n", args: []string{"--hash", bc.Hash}, want: exitOK, wantOut: "match (bcrypt)"},
		{name: "match without newline", stdin: "hunter2", args: []string{"--hash", bc.Hash}, want: exitOK, wantOut: "match (bcrypt)"},
		{name: "CRLF line ending", stdin: "hunter2\r\nignored\n", args: []string{"--hash", bc.Hash}, want: exitOK, wantOut: "match (bcrypt)"},
		{name: "only the first line counts", stdin: "nope\nhunter2\n", args: []string{"--hash", bc.Hash}, want: exitFailure, wantOut: "no match (bcrypt)"},
		{name: "mismatch", stdin: "hunter3\n", args: []string{"--hash", bc.Hash}, want: exitFailure, wantOut: "no match"},
		{name: "json match", stdin: "hunter2\n", args: []string{"--hash", bc.Hash, "--json"}, want: exitOK, wantOut: `{"format":"bcrypt","match":true}`},
		{name: "json mismatch", stdin: "x\n", args: []string{"--hash", bc.Hash, "--json"}, want: exitFailure, wantOut: `{"format":"bcrypt","match":false}`},
		{name: "salt and format", stdin: "s3cret\n", args: []string{"--hash", salted.Hash, "--salt", salted.Salt, "--format", "sha256_salt_password"}, want: exitOK, wantOut: "match (sha256_salt_password)"},
		{name: "salt detected", stdin: "s3cret\n", args: []string{"--hash", salted.Hash, "--salt", salted.Salt}, want: exitOK, wantOut: "match (sha256_salt_password)"},
		{name: "recipe", stdin: "pw\n", args: []string{"--hash", "9521f990bf86ea0da258d6dcb8624ed1", "--salt", "ab", "--format", "recipe:md5(md5(password) + salt)"}, want: exitOK, wantOut: "match (recipe)"},
		{name: "recipe with key from env", stdin: "pw\n", args: []string{"--hash", "ff47cddb47b5c81a394fb219d010b4de3177d0e1831884b54bf9fd6e86151b39", "--format", "recipe:hex(hmac_sha256(key, password))", "--key-env", "CUTOVER_TEST_PEPPER"}, want: exitOK, wantOut: "match (recipe)"},
		{name: "firebase", stdin: "user1password\n", args: []string{"--hash", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", "--salt", "42xEC+ixf3L2lw==", "--firebase-config", fbCfg}, want: exitOK, wantOut: "match (firebase_scrypt)"},
		{name: "malformed", stdin: "x\n", args: []string{"--hash", "$2b$10$short"}, want: exitBadHash, badHash: true, wantErr: "60 characters"},
		{name: "cost above cap", stdin: "x\n", args: []string{"--hash", "$2b$31$" + strings.Repeat("a", 53)}, want: exitBadHash, badHash: true, wantErr: "cost 31"},
		{name: "unknown format", stdin: "x\n", args: []string{"--hash", "not-a-hash"}, want: exitBadHash, badHash: true, wantErr: "no known format"},
		// The command's words, not the plan's: it has --format, no password_format.
		{name: "garbage hash names --format", stdin: "x\n", args: []string{"--hash", "garbage!!"}, want: exitBadHash, badHash: true,
			wantErr: "give --format a format name or recipe:<expression>"},
		{name: "unknown --format", stdin: "x\n", args: []string{"--hash", "abc", "--format", "nope"}, want: exitBadHash, badHash: true,
			wantErr: `--format: "nope" is not a known format`},
		{name: "unsupported", stdin: "x\n", args: []string{"--hash", "{CRYPT}ab01FAX.bQRSU"}, want: exitBadHash, badHash: true, wantErr: "DES crypt"},
		{name: "malformed json", stdin: "x\n", args: []string{"--hash", "$2b$10$short", "--json"}, want: exitBadHash, badHash: true, wantOut: `"match":false`},
		{name: "no password", stdin: "", args: []string{"--hash", bc.Hash}, want: exitUsage, wantErr: "no password on standard input"},
		{name: "no hash", stdin: "x\n", args: nil, want: exitUsage, wantErr: "--hash is required"},
		{name: "password is not an argument", stdin: "x\n", args: []string{"--hash", bc.Hash, "hunter2"}, want: exitUsage, wantErr: "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.stdin, append([]string{"hash", "verify"}, tt.args...)...)
			if code != tt.want {
				t.Errorf("exit code: got %d, want %d (stdout %q, stderr %q)", code, tt.want, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout: got %q, want it to contain %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr: got %q, want it to contain %q", errOut, tt.wantErr)
			}
			if tt.stdin != "" && strings.Contains(out+errOut, strings.TrimSpace(tt.stdin)) && len(strings.TrimSpace(tt.stdin)) > 2 {
				t.Errorf("the password %q was echoed: stdout %q stderr %q", tt.stdin, out, errOut)
			}
			if strings.Contains(errOut, "password_format") {
				t.Errorf("stderr: got %q, which names the plan's password_format, not --format", errOut)
			}
			if tt.badHash && strings.Contains(errOut, "--help' for usage") {
				t.Errorf("stderr: got a usage hint for a bad hash: %q", errOut)
			}
		})
	}
}

func TestHashDetect(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    int
		wantOut []string
	}{
		{name: "django pbkdf2", args: []string{"pbkdf2_sha256$260000$hoZrBAIgQQcrSmioVecBam$FeaL1qJ5ISjDkRie15iMhA8T1THum/n4TYtZeG4qWuA="},
			wantOut: []string{"format:      django_pbkdf2_sha256", "iterations:  260000", "salt_length: 22", "authgear:    no"}},
		{name: "bcrypt", args: []string{"$2y$10$owQAzz8KWyWMV1vAX.7VT.KJ4fHp5CRDH5m4S2KlfKoarZR8AdMcy"},
			wantOut: []string{"format:      bcrypt", "cost:        10", "authgear:    yes", "weak:        no"}},
		{name: "ambiguous salted hex", args: []string{"--salt", "ab", "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"},
			wantOut: []string{"format:      sha256_salt_password", "confidence:  0.50", "alternatives: sha256_password_salt", "weak:        yes"}},
		{name: "unknown", args: []string{"zzz"}, want: 2},
		{name: "no argument", args: nil, want: exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", append([]string{"hash", "detect"}, tt.args...)...)
			if code != tt.want {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tt.want, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout: got %q, want it to contain %q", out, w)
				}
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		code, out, _ := runCLI(t, "", "hash", "detect", "--json", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$5Y0aqS0KqbVnGvvK5Ju0Vg")
		var got struct {
			Format string            `json:"format"`
			Params map[string]string `json:"params"`
		}
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
			t.Fatalf("got exit %d, output %q; want 0 and JSON", code, out)
		}
		if got.Format != "argon2id" || got.Params["memory_kib"] != "19456" || got.Params["time"] != "2" {
			t.Errorf("got %+v, want argon2id with memory_kib 19456 and time 2", got)
		}
	})
}
