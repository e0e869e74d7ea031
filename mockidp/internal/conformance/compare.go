package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Compare lists where got (a replay) differs from want (the recording), one line per
// difference with the step and the JSON path. It compares the status, the media type,
// plain-text bodies, and JSON bodies field by field, except the wording of error
// messages: an error envelope is compared by name, reason, code, info (of a cause only
// its location and kind) and whether tracking_id is there; GraphQL errors by
// extensions.errorName and reason. Echoed records must match exactly, key order
// included, which is the redaction shape.
func Compare(want, got Case) []string {
	var d []string
	if got.Err != "" {
		d = append(d, "stopped at "+got.Err)
	}
	if want.Err != "" {
		d = append(d, "the recording stopped at "+want.Err)
	}
	for i := range min(len(want.Steps), len(got.Steps)) {
		w, g := want.Steps[i], got.Steps[i]
		wr := w.Response
		if w.Job != nil {
			wr = unraced(wr, g.Response)
		}
		d = append(d, compareResponse(fmt.Sprintf("step %d response", i), wr, g.Response)...)
		d = append(d, compareResponse(fmt.Sprintf("step %d job", i), w.Job, g.Job)...)
	}
	if len(want.Steps) != len(got.Steps) {
		d = append(d, fmt.Sprintf("%d steps, want %d", len(got.Steps), len(want.Steps)))
	}
	return d
}

func compareResponse(at string, w, g *Response) []string {
	switch {
	case w == nil && g == nil:
		return nil
	case w == nil:
		return []string{at + ": an answer where the recording has none"}
	case g == nil:
		return []string{at + ": no answer, want HTTP " + fmt.Sprint(w.Status)}
	}
	var d []string
	if w.Status != g.Status {
		d = append(d, fmt.Sprintf("%s: HTTP %d, want %d", at, g.Status, w.Status))
	}
	if w.ContentType != g.ContentType {
		d = append(d, fmt.Sprintf("%s: Content-Type %q, want %q", at, g.ContentType, w.ContentType))
	}
	if w.JSON == nil {
		if strings.TrimSpace(w.Text) != strings.TrimSpace(g.Text) {
			d = append(d, fmt.Sprintf("%s: body %q, want %q", at, clip(g.Text), clip(w.Text)))
		}
		return d
	}
	if g.JSON == nil {
		return append(d, fmt.Sprintf("%s: body %q is not JSON", at, clip(g.Text)))
	}
	c := &comparer{}
	c.value(at+" $", "", w.JSON, g.JSON)
	return append(d, c.diffs...)
}

type comparer struct{ diffs []string }

func (c *comparer) add(at, format string, args ...any) {
	c.diffs = append(c.diffs, at+": "+fmt.Sprintf(format, args...))
}

// value compares want and got found under key at path at.
func (c *comparer) value(at, key string, w, g any) {
	switch wv := w.(type) {
	case Object:
		gv, ok := g.(Object)
		if !ok {
			c.add(at, "%s, want an object", show(g))
			return
		}
		c.object(at, key, wv, gv)
	case []any:
		gv, ok := g.([]any)
		if !ok {
			c.add(at, "%s, want an array", show(g))
			return
		}
		if len(wv) != len(gv) {
			c.add(at, "%d items, want %d: got %s, want %s", len(gv), len(wv), show(g), show(w))
			return
		}
		for i := range wv {
			c.value(fmt.Sprintf("%s[%d]", at, i), key, wv[i], gv[i])
		}
	default:
		if !equalScalar(w, g) {
			c.add(at, "%s, want %s", show(g), show(w))
		}
	}
}

func (c *comparer) object(at, key string, w, g Object) {
	_, hasName := w.Get("name")
	_, hasReason := w.Get("reason")
	apiError := hasName && hasReason
	_, hasExt := w.Get("extensions")
	gqlError := hasExt && key == "errors"
	skip := map[string]bool{}
	switch {
	case apiError:
		skip["message"] = true
	case gqlError:
		skip["message"], skip["locations"], skip["path"] = true, true, true
	case key == "cause" || (key == "causes"):
		// A validation cause: where and what kind; details are wording.
		for _, k := range []string{"location", "kind"} {
			wv, _ := w.Get(k)
			gv, _ := g.Get(k)
			if !equalScalar(wv, gv) {
				c.add(at+"."+k, "%s, want %s", show(gv), show(wv))
			}
		}
		return
	case key == "record":
		// Byte for byte, so nested key order counts too (Authgear sorts keys).
		wb, _ := json.Marshal(w)
		gb, _ := json.Marshal(g)
		if string(wb) != string(gb) {
			c.add(at, "echo %s, want %s (keys in this order)", clip(string(gb)), clip(string(wb)))
		}
	}
	if gqlError {
		for _, k := range []string{"errorName", "reason"} {
			wv, _ := lookup(w, "extensions."+k)
			gv, _ := lookup(g, "extensions."+k)
			if !equalScalar(wv, gv) {
				c.add(at+".extensions."+k, "%s, want %s", show(gv), show(wv))
			}
		}
		return
	}
	for _, m := range w {
		if skip[m.Key] {
			continue
		}
		gv, ok := g.Get(m.Key)
		if !ok {
			c.add(at+"."+m.Key, "missing, want %s", show(m.Val))
			continue
		}
		c.value(at+"."+m.Key, m.Key, m.Val, gv)
	}
	for _, m := range g {
		if skip[m.Key] {
			continue
		}
		if _, ok := w.Get(m.Key); !ok {
			c.add(at+"."+m.Key, "%s, want no such key", show(m.Val))
		}
	}
}

func equalScalar(w, g any) bool {
	if wn, ok := w.(json.Number); ok {
		gn, ok := g.(json.Number)
		return ok && wn.String() == gn.String()
	}
	return w == g
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return clip(string(b))
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

// ExceptionRacedPost names the one exception Compare makes (listed in mockidp's doc): an
// import POST that Authgear answered with the job already completed is compared with
// the mock's pending answer on everything but how far the job had got. Authgear enqueues
// the job's tasks and only then reads the job back for the answer (JobManager.EnqueueJob),
// so a fast worker may finish a small job in between; the mock always answers pending.
// The completed job is still compared in full where the recording polled it (the
// step's job).
const ExceptionRacedPost = "an import POST answered completed by a racing worker"

// unraced is the recorded POST answer w as it would read had Authgear's worker not won
// the race, when the mock's answer g is pending and w completed; otherwise w.
func unraced(w, g *Response) *Response {
	if w == nil || g == nil {
		return w
	}
	wres, ok1 := resultOf(w.JSON)
	gres, ok2 := resultOf(g.JSON)
	if !ok1 || !ok2 {
		return w
	}
	ws, _ := wres.Get("status")
	gs, _ := gres.Get("status")
	if ws != "completed" || gs != "pending" {
		return w
	}
	var res Object
	for _, m := range wres {
		switch m.Key {
		case "completed_at", "summary", "details", "error":
		case "status":
			res = append(res, Member{Key: m.Key, Val: "pending"})
		default:
			res = append(res, m)
		}
	}
	out := *w
	out.JSON = Object{{Key: "result", Val: res}}
	return &out
}

func resultOf(v any) (Object, bool) {
	o, ok := v.(Object)
	if !ok || len(o) != 1 {
		return nil, false
	}
	r, ok := o.Get("result")
	if !ok {
		return nil, false
	}
	res, ok := r.(Object)
	return res, ok
}
