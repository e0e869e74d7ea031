package wizard

import (
	"io"
	"strings"

	"github.com/charmbracelet/huh"
)

// answered makes accessible mode say what Enter keeps. huh's plain prompts take the
// prefilled answer when Enter is pressed but do not say what it is, so a screen reader
// user would hear "Enter a number between 1 and 8" with no hint of the default. The
// full-screen form shows answers itself and is never wrapped.
type answered struct {
	huh.Field
	title    string
	setTitle func(string)
	show     func() string // the current answer as the user reads it; "" says nothing
}

// WithAccessible keeps the wrapper: huh runs what this returns.
func (a answered) WithAccessible(on bool) huh.Field {
	a.Field = a.Field.WithAccessible(on)
	return a
}

// RunAccessible puts the current answer into the title, then asks.
func (a answered) RunAccessible(w io.Writer, r io.Reader) error {
	t := a.title
	if v := a.show(); v != "" {
		t += " [Enter keeps: " + v + "]"
	}
	a.setTitle(t)
	return a.Field.RunAccessible(w, r)
}

// choice binds a select of strings to v and titles it; in accessible mode the title
// names the option Enter keeps.
func (s *state) choice(f *huh.Select[string], title string, v *string, opts ...huh.Option[string]) huh.Field {
	// huh v1.0 scrolls a select's list to the option selected when it is given options
	// (hiding those above it, even when all would fit), and Value moves the cursor
	// without scrolling: so options are given while the first is selected, then the
	// answer. Given the other way round, "fail" was hidden above "without_password".
	if len(opts) > 0 {
		first := opts[0].Value
		f.Value(&first)
	}
	f.Title(title).Options(opts...).Value(v)
	if s.tui {
		return f
	}
	return answered{Field: f, title: title, setTitle: func(t string) { f.Title(t) }, show: func() string {
		for _, o := range opts {
			if o.Value == *v {
				return o.Key
			}
		}
		return ""
	}}
}

// textDefault is text for an input whose empty answer means def: line mode says
// "[Enter keeps: def]" rather than nothing.
func (s *state) textDefault(f *huh.Input, title string, v *string, def string) huh.Field {
	f.Title(title).Value(v)
	if s.tui {
		return f
	}
	return answered{Field: f, title: title, setTitle: func(t string) { f.Title(t) }, show: func() string { return cmpOr(*v, def) }}
}

// confirm binds a yes/no question to v; line mode names the answer Enter keeps.
func (s *state) confirm(f *huh.Confirm, title string, v *bool) huh.Field {
	f.Title(title).Value(v)
	if s.tui {
		return f
	}
	return answered{Field: f, title: title, setTitle: func(t string) { f.Title(t) }, show: func() string {
		if *v {
			return "yes"
		}
		return "no"
	}}
}

// text binds an input to v and titles it; in accessible mode the title shows the
// value Enter keeps. Not for inputs that may hold a secret (a DSN, a key).
func (s *state) text(f *huh.Input, title string, v *string) huh.Field {
	f.Title(title).Value(v)
	if s.tui {
		return f
	}
	return answered{Field: f, title: title, setTitle: func(t string) { f.Title(t) }, show: func() string { return *v }}
}

// dashClears lets a line-mode answer of "-" unmap a field: an empty line keeps the
// answer, so "-" is how to say "none".
type dashClears struct {
	huh.Field
	v *string
}

// WithAccessible keeps the wrapper.
func (d dashClears) WithAccessible(on bool) huh.Field {
	d.Field = d.Field.WithAccessible(on)
	return d
}

// RunAccessible asks, then turns "-" into no column.
func (d dashClears) RunAccessible(w io.Writer, r io.Reader) error {
	err := d.Field.RunAccessible(w, r)
	if strings.TrimSpace(*d.v) == "-" {
		*d.v = ""
	}
	return err
}
