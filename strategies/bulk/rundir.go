package bulk

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// Names of the files in a run directory.
const (
	FileOutcomes     = "outcomes.ndjson"  // one line per input row, append-only
	FileSent         = "sent.ndjson"      // row ranges of batches about to be posted
	FileCheckpoint   = "checkpoint.json"  // last fully-recorded position and counts
	FileLock         = "lock"             // held while a run writes
	FileRun          = "run.json"         // what the run is: plan, target
	FileFailuresCSV  = "failures.csv"     // failed and invalid rows
	FileFailuresJSON = "failures.json"    // the same as JSON
	FileSummary      = "summary.md"       // Markdown for a CI step summary
	FileReport       = "report.json"      // the Report
	dryRunSuffix     = "-dry-run"         // dry runs keep their records apart
	archiveTimestamp = "20060102T150405Z" // a run directory's suffix: when the run started
)

// Line is one line of outcomes.ndjson: what became of one input row. It never holds a
// password hash; Email is set only when the plan's bulk.log_emails allows it.
type Line struct {
	Row             int                `json:"row"`
	Line            int                `json:"line,omitempty"`
	LegacyID        string             `json:"legacy_id,omitempty"`
	Email           string             `json:"email,omitempty"`
	Outcome         strategies.Outcome `json:"outcome"`
	UserID          string             `json:"user_id,omitempty"`
	Reason          string             `json:"reason,omitempty"`
	WithoutPassword bool               `json:"without_password,omitempty"`
	// Rescued marks an inserted row that Runner.Known said the target already held.
	Rescued bool `json:"rescued,omitempty"`
	// Password is "none" for a user that reached the target with no password hash,
	// whatever the cause (Reason says which).
	Password string `json:"password,omitempty"`
	// Warnings are the optional fields dropped so the user could move: "field: code: message".
	Warnings []string `json:"warnings,omitempty"`
	// LegacyEmail is the email as the source wrote it, when it was normalised before
	// sending (lower-cased); set only when bulk.log_emails allows emails in logs.
	LegacyEmail string `json:"legacy_email,omitempty"`
	// Uncertain marks a skipped row whose user was found at the target after a lost
	// answer without proof that this run created it: undo leaves it and lists it.
	Uncertain bool `json:"uncertain,omitempty"`

	pos string // the row's source position, for the checkpoint; not written
}

// appendLine writes l as one JSON line by hand: a million lines should cost little.
func appendLine(dst []byte, l *Line) []byte {
	dst = append(dst, `{"row":`...)
	dst = strconv.AppendInt(dst, int64(l.Row), 10)
	if l.Line > 0 {
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, int64(l.Line), 10)
	}
	str := func(k, v string) {
		if v != "" {
			dst = append(dst, ',', '"')
			dst = append(dst, k...)
			dst = append(dst, '"', ':')
			dst = idp.AppendJSONString(dst, v)
		}
	}
	str("legacy_id", l.LegacyID)
	str("email", l.Email)
	str("outcome", string(l.Outcome))
	str("user_id", l.UserID)
	str("reason", l.Reason)
	if l.WithoutPassword {
		dst = append(dst, `,"without_password":true`...)
	}
	if l.Rescued {
		dst = append(dst, `,"rescued":true`...)
	}
	return appendLineTail(dst, l)
}

// RunInfo is run.json: enough to find the plan and target again (`cutover undo`).
type RunInfo struct {
	Plan        string    `json:"plan,omitempty"` // absolute path of the plan file
	Fingerprint string    `json:"fingerprint"`
	Target      string    `json:"target"`
	TargetURL   string    `json:"target_url,omitempty"`
	Strategy    string    `json:"strategy"`
	DryRun      bool      `json:"dry_run,omitempty"`
	Started     time.Time `json:"started"`
}

// Checkpoint is checkpoint.json. ThroughRow is the highest row such that it and every
// row before it have an outcome; Pos is that row's source position.
type Checkpoint struct {
	ThroughRow int                          `json:"through_row"`
	Pos        string                       `json:"pos,omitempty"`
	Recorded   int64                        `json:"recorded"`
	Counts     map[strategies.Outcome]int64 `json:"counts"`
	Finished   bool                         `json:"finished"`
	Updated    time.Time                    `json:"updated"`
}

// Fingerprint identifies the input of a run: the source's identity (for files, the size
// and a hash of the first megabyte) and the mapping. Same fingerprint, same run directory.
func Fingerprint(p *strategies.Plan) (string, error) {
	h := sha256.New()
	s := p.Source
	fmt.Fprintf(h, "kind=%s\ntable=%s\nquery=%s\nkey=%s\ndelim=%s\n", s.Kind, s.Table, s.Query, s.Key, s.Delimiter)
	if s.DSN != "" {
		fmt.Fprintf(h, "dsn=%s\n", s.DSN) // as written: a ${VAR} reference, never the expanded secret
	}
	if s.Path != "" {
		path, err := p.Resolve("source.path", s.Path)
		if err != nil {
			return "", err
		}
		f, err := os.Open(path)
		if err != nil {
			return "", &strategies.Error{Code: strategies.CodeSource, File: path, Field: "source.path", Message: "cannot read the source file", Err: err}
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return "", fmt.Errorf("fingerprint source: %w", err)
		}
		fmt.Fprintf(h, "size=%d\n", fi.Size())
		if _, err := io.CopyN(h, f, 1<<20); err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("fingerprint source: %w", err)
		}
	}
	m, err := json.Marshal(p.Mapping)
	if err != nil {
		return "", fmt.Errorf("fingerprint mapping: %w", err)
	}
	h.Write(m)
	fmt.Fprintf(h, "\nidentifier=%s\n", p.Identifier())
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName turns a target name (a host:port, a profile) into a directory name part.
func safeName(s string) string {
	return strings.Trim(unsafeName.ReplaceAllString(s, "_"), "_.")
}

// State is what earlier attempts of a run recorded: rows with an outcome and rows that
// were (possibly) sent without a recorded outcome.
type State struct {
	Done   bitset // rows whose outcome is final for this attempt
	Sent   bitset // rows in batches that may have reached the target
	Failed bitset // rows whose last outcome is failed (for --only-failed)
	Lines  int64
}

// loadState reads outcomes.ndjson and sent.ndjson. A last line cut short by a crash is
// dropped and the file truncated to the last complete line.
func loadState(dir string) (*State, error) {
	st := &State{}
	path := filepath.Join(dir, FileOutcomes)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read outcome log: %w", err)
	}
	defer f.Close()
	var good int64
	r := bufio.NewReaderSize(f, 1<<16)
	for {
		b, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%s: a line longer than 64 KiB; the outcome log is damaged", path)
		}
		if err != nil { // io.EOF: b holds a partial line, if any
			break
		}
		var l Line
		if jerr := json.Unmarshal(b, &l); jerr != nil || l.Row <= 0 {
			return nil, fmt.Errorf("%s: line %d is not an outcome record (%v); the outcome log is damaged", path, st.Lines+1, jerr)
		}
		good += int64(len(b))
		st.Lines++
		st.Done.set(l.Row)
		if l.Outcome == strategies.OutcomeFailed {
			st.Failed.set(l.Row)
		} else {
			st.Failed.clear(l.Row)
		}
	}
	if fi, err := f.Stat(); err == nil && fi.Size() != good {
		if err := f.Truncate(good); err != nil {
			return nil, fmt.Errorf("drop the partial last line of %s: %w", path, err)
		}
	}
	sent, err := os.ReadFile(filepath.Join(dir, FileSent))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read sent log: %w", err)
	}
	for line := range bytes.Lines(sent) {
		var s sentRange
		if json.Unmarshal(line, &s) != nil {
			continue // a partial last line: that batch was never posted
		}
		for _, row := range s.Rows {
			st.Sent.set(row)
		}
	}
	return st, nil
}

// sentRange is one line of sent.ndjson: the rows of a batch about to be posted.
type sentRange struct {
	Batch int64 `json:"batch"`
	Rows  []int `json:"rows"`
}

// bitset is a growable set of row numbers: 125 KB per million rows.
type bitset struct{ w []uint64 }

func (b *bitset) set(i int) {
	for i/64 >= len(b.w) {
		b.w = append(b.w, make([]uint64, max(len(b.w), 16))...)
	}
	b.w[i/64] |= 1 << (i % 64)
}

func (b *bitset) clear(i int) {
	if i/64 < len(b.w) {
		b.w[i/64] &^= 1 << (i % 64)
	}
}

func (b *bitset) has(i int) bool {
	return i/64 < len(b.w) && b.w[i/64]&(1<<(i%64)) != 0
}

// writeJSONAtomic writes v as indented JSON to path via a temporary file and rename.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// runDir is the stem of the directories of the plan's runs against the target named
// target (Target.Name): one stem per input (the fingerprint) and target, so runs of
// the same users into two IdPs, or two profiles of the mock, never mix their records.
// Each run's directory is the stem and its start time (runStamp); directories named by
// the stem alone are runs of earlier versions, still resumed and never moved.
func runDir(root, fp, target string) string {
	return filepath.Join(root, fp+"-"+safeName(target))
}

// runStamp is what follows a run directory's stem: its start time, numbered when runs
// start within the same second.
var runStamp = regexp.MustCompile(`^-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?$`)

// runDirs lists the directories of the plan's runs against target, oldest first.
func runDirs(root, fp, target string) ([]string, error) {
	stem := runDir(root, fp, target)
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list run directories: %w", err)
	}
	var out []string
	for _, e := range entries {
		d := filepath.Join(root, e.Name())
		if rest, ok := strings.CutPrefix(d, stem); e.IsDir() && ok && (rest == "" || runStamp.MatchString(rest)) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(runOrder(a), runOrder(b)) })
	return out, nil
}

// runOrder sorts run directories by start time, then number (-10 after -9).
func runOrder(dir string) string {
	if i := strings.LastIndex(dir, "Z-"); i > 0 && i >= len(dir)-8 {
		return fmt.Sprintf("%s%08s", dir[:i+1], dir[i+2:])
	}
	return dir
}

// newRunDir creates the directory of a run starting at t: stem-<time>, numbered when a
// run started within the same second already has that name.
func newRunDir(stem string, t time.Time) (string, bool, error) {
	if err := os.MkdirAll(filepath.Dir(stem), 0o700); err != nil {
		return "", false, fmt.Errorf("create run directory: %w", err)
	}
	dir := stem + "-" + t.UTC().Format(archiveTimestamp)
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			return dir, true, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", false, fmt.Errorf("create run directory: %w", err)
		}
		dir = fmt.Sprintf("%s-%s-%d", stem, t.UTC().Format(archiveTimestamp), i)
	}
}

// Interrupted reports whether the plan has a run against the target named target
// (Target.Name) that was stopped before it finished: the run a --resume continues.
// Dry runs and runs against other targets do not count.
func Interrupted(p *strategies.Plan, target string) (bool, error) {
	root, err := p.RunRoot()
	if err != nil {
		return false, err
	}
	fp, err := Fingerprint(p)
	if err != nil {
		return false, err
	}
	dirs, err := runDirs(root, fp, target)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(dirs, interrupted), nil
}

// interrupted reports whether dir holds a run's outcome log without a finished
// checkpoint (a run stopped before its first checkpoint has none at all).
func interrupted(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, FileOutcomes)); err != nil {
		return false
	}
	var cp Checkpoint
	return readJSON(filepath.Join(dir, FileCheckpoint), &cp) != nil || !cp.Finished
}

// exists reports whether path can be stat'ed.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// LastRun returns the directory and record of the plan's latest run against any target
// (by start time), or "" when it has none; dry runs and runs of another strategy on
// the same input do not count. 'cutover status' reads a lazy plan's last sweep this way.
func LastRun(p *strategies.Plan) (string, *RunInfo, error) {
	root, err := p.RunRoot()
	if err != nil {
		return "", nil, err
	}
	fp, err := Fingerprint(p)
	if err != nil {
		return "", nil, err
	}
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("list run directories: %w", err)
	}
	var dir string
	var last *RunInfo
	for _, e := range entries {
		d := filepath.Join(root, e.Name())
		var ri RunInfo
		if !e.IsDir() || !strings.HasPrefix(e.Name(), fp+"-") || readJSON(filepath.Join(d, FileRun), &ri) != nil ||
			ri.DryRun || ri.Strategy != p.Strategy || !exists(filepath.Join(d, FileOutcomes)) {
			continue
		}
		if last == nil || ri.Started.After(last.Started) {
			dir, last = d, &ri
		}
	}
	return dir, last, nil
}

// Finished reports whether the run in dir has finished (its checkpoint says so).
func Finished(dir string) bool {
	return exists(filepath.Join(dir, FileOutcomes)) && !interrupted(dir)
}
