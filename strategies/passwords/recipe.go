package passwords

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// Limits that keep a recipe's work bounded: there are no loops, and these cap the
// size of the tree and of every intermediate value.
const (
	MaxRecipeLength = 512      // characters in the expression
	MaxRecipeDepth  = 16       // nested calls
	MaxRecipeNodes  = 64       // calls, names and literals
	MaxRecipeValue  = 64 << 10 // bytes in any intermediate value
)

// Recipe is a parsed home-grown hash scheme, written in a plan as
// "password_format: recipe:<expression>", e.g. "sha256(salt + password)" or
// "md5(md5(password) + salt)".
//
// Values are strings or digests. md5/sha1/sha256/sha512 and hmac_* return digests;
// a digest used as input to anything (concatenation, another function) is its lower
// hex form, as PHP's md5() returns. hex() and base64() encode a digest's raw bytes
// (or a string's bytes); unhex() turns hex back into raw bytes; lower()/upper() change
// case. When the whole expression is a digest, the stored hash may be hex (either case)
// or base64 of it; when it is a string, the stored hash must equal it exactly.
type Recipe struct {
	root *node
}

// node is one part of a parsed recipe: a call (fn), a name, a literal, or, with
// neither fn nor name but args set, a concatenation.
type node struct {
	fn   string // function name; "" for a leaf
	name string // identifier leaf: password, salt, key
	lit  string // string literal leaf (when fn and name are "")
	args []*node
	pos  int
}

// value is an intermediate result. digest marks raw hash output, which becomes hex
// when used as text, as PHP's md5() and sha1() return it.
type value struct {
	b      []byte
	digest bool
}

// text is a value as input to anything else: a digest becomes lower hex.
func (v value) text() []byte {
	if v.digest {
		return []byte(hex.EncodeToString(v.b))
	}
	return v.b
}

// recipeDigests are the hash functions a recipe may call, by name.
var recipeDigests = map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}

// recipeArity lists every function and its number of arguments.
var recipeArity = map[string]int{
	"md5": 1, "sha1": 1, "sha256": 1, "sha512": 1,
	"hmac_md5": 2, "hmac_sha1": 2, "hmac_sha256": 2, "hmac_sha512": 2,
	"hex": 1, "unhex": 1, "base64": 1, "lower": 1, "upper": 1,
}

// ParseRecipe parses a recipe expression; the error says where it went wrong.
func ParseRecipe(expr string) (*Recipe, error) {
	if len(expr) > MaxRecipeLength {
		return nil, recipeErr(0, "the expression is %d characters; the limit is %d", len(expr), MaxRecipeLength)
	}
	p := &recipeParser{src: expr}
	p.next()
	root, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.err != nil {
		return nil, p.err
	}
	if p.tok != "" {
		return nil, recipeErr(p.tokPos, "unexpected %q after the end of the expression", p.tok)
	}
	return &Recipe{root: root}, nil
}

// recipeErr builds a plan error at a column of the expression (1-based, as editors
// count), so the user can find the spot in their plan.
func recipeErr(pos int, msg string, args ...any) error {
	return &strategies.Error{Code: strategies.CodePlan, Field: "password_format",
		Message: fmt.Sprintf("recipe, column %d: ", pos+1) + fmt.Sprintf(msg, args...) + " (see the recipe examples in the README)"}
}

// String renders the expression in a canonical form.
func (r *Recipe) String() string { return r.root.String() }

func (n *node) String() string {
	switch {
	case n.fn != "":
		args := make([]string, len(n.args))
		for i, a := range n.args {
			args[i] = a.String()
		}
		return n.fn + "(" + strings.Join(args, ", ") + ")"
	case n.name != "":
		return n.name
	case n.args != nil: // concatenation
		parts := make([]string, len(n.args))
		for i, a := range n.args {
			parts[i] = a.String()
		}
		return strings.Join(parts, " + ")
	}
	// Only \ and " need escaping: the lexer reads \x as x.
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(n.lit) + `"`
}

// recipeParser is a recursive-descent parser over one expression. It counts nodes
// and depth so that a plan cannot make parsing or evaluation unbounded, and keeps
// the first error with its column.
type recipeParser struct {
	src    string
	pos    int
	tok    string // "" at the end
	tokPos int
	nodes  int
	err    error
}

// next reads one token: a name, a quoted string (kept with its quote), or ( ) , +.
func (p *recipeParser) next() {
	for p.pos < len(p.src) && strings.ContainsRune(" \t\r\n", rune(p.src[p.pos])) {
		p.pos++
	}
	p.tokPos = p.pos
	if p.pos >= len(p.src) {
		p.tok = ""
		return
	}
	c := p.src[p.pos]
	switch {
	case strings.IndexByte("(),+", c) >= 0:
		p.pos++
	// Either quote works (YAML makes one or the other awkward to write); a backslash
	// escapes the next character, so quotes can appear inside.
	case c == '"' || c == '\'':
		var b strings.Builder
		b.WriteByte(c)
		i := p.pos + 1
		for ; i < len(p.src) && p.src[i] != c; i++ {
			if p.src[i] == '\\' && i+1 < len(p.src) {
				i++
			}
			b.WriteByte(p.src[i])
		}
		if i >= len(p.src) {
			p.err = recipeErr(p.pos, "the string starting here has no closing %c", c)
			p.tok, p.pos = "", len(p.src)
			return
		}
		p.pos = i + 1
		p.tok = b.String()
		return
	// Names and function names: ASCII letters, digits and underscores only.
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		i := p.pos
		for i < len(p.src) && (p.src[i] == '_' || p.src[i] >= 'a' && p.src[i] <= 'z' || p.src[i] >= 'A' && p.src[i] <= 'Z' || p.src[i] >= '0' && p.src[i] <= '9') {
			i++
		}
		p.pos = i
	default:
		// Anything else (* or |, say) is refused at once, with its column.
		p.err = recipeErr(p.pos, "unexpected character %q", c)
		p.tok, p.pos = "", len(p.src)
		return
	}
	p.tok = p.src[p.tokPos:p.pos]
}

// expr = term { "+" term }
//
// Concatenation is the only operator, so there is no precedence: terms joined by +
// become one node with every term as an argument.
func (p *recipeParser) expr(depth int) (*node, error) {
	first, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	if p.tok != "+" {
		return first, nil
	}
	cat := &node{args: []*node{first}, pos: first.pos}
	for p.tok == "+" {
		p.next()
		t, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		cat.args = append(cat.args, t)
	}
	return cat, nil
}

// term = name "(" expr { "," expr } ")" | name | string
func (p *recipeParser) term(depth int) (*node, error) {
	if p.err != nil {
		return nil, p.err
	}
	if depth > MaxRecipeDepth {
		return nil, recipeErr(p.tokPos, "calls are nested more than %d deep", MaxRecipeDepth)
	}
	if p.nodes++; p.nodes > MaxRecipeNodes {
		return nil, recipeErr(p.tokPos, "the expression has more than %d parts", MaxRecipeNodes)
	}
	tok, pos := p.tok, p.tokPos
	switch {
	case tok == "":
		return nil, recipeErr(pos, "the expression ends where a value was expected")
	// A literal keeps its text without the quotes (the lexer kept only the opening one).
	case tok[0] == '"' || tok[0] == '\'':
		p.next()
		return &node{lit: tok[1:], pos: pos}, nil
	case strings.IndexByte("(),+", tok[0]) >= 0:
		return nil, recipeErr(pos, "expected a value, found %q", tok)
	}
	p.next()
	// A name without ( is a value; a function name without ( is a common slip and is
	// named as one.
	if p.tok != "(" {
		switch tok {
		case "password", "salt", "key":
			return &node{name: tok, pos: pos}, nil
		}
		if _, isFn := recipeArity[tok]; isFn {
			return nil, recipeErr(pos, "%s is a function: write %s(...)", tok, tok)
		}
		return nil, recipeErr(pos, "unknown name %q; the values are password, salt, key and quoted strings", tok)
	}
	arity, ok := recipeArity[tok]
	if !ok {
		return nil, recipeErr(pos, "unknown function %q; known: md5, sha1, sha256, sha512, hmac_md5, hmac_sha1, hmac_sha256, hmac_sha512, hex, unhex, base64, lower, upper", tok)
	}
	p.next()
	n := &node{fn: tok, pos: pos}
	for {
		a, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, a)
		if p.tok != "," {
			break
		}
		p.next()
	}
	if p.err != nil {
		return nil, p.err
	}
	if p.tok != ")" {
		return nil, recipeErr(p.tokPos, "expected ) to close %s(", tok)
	}
	p.next()
	if len(n.args) != arity {
		return nil, recipeErr(pos, "%s takes %d argument(s), got %d", tok, arity, len(n.args))
	}
	return n, nil
}

// Eval computes the recipe for one password. It does no I/O and bounded work.
func (r *Recipe) eval(password, salt string, key []byte) (value, error) {
	return r.root.eval(password, salt, key)
}

func (n *node) eval(password, salt string, key []byte) (value, error) {
	var v value
	switch {
	case n.fn == "" && n.name != "":
		switch n.name {
		case "password":
			v.b = []byte(password)
		case "salt":
			v.b = []byte(salt)
		case "key":
			v.b = key
		}
		return v, nil
	case n.fn == "" && n.args == nil:
		return value{b: []byte(n.lit)}, nil
	}
	args := make([]value, len(n.args))
	for i, a := range n.args {
		var err error
		if args[i], err = a.eval(password, salt, key); err != nil {
			return value{}, err
		}
	}
	switch fn := n.fn; {
	case fn == "": // concatenation
		for _, a := range args {
			v.b = append(v.b, a.text()...)
		}
	case recipeDigests[fn] != nil:
		d := recipeDigests[fn]()
		d.Write(args[0].text())
		v = value{b: d.Sum(nil), digest: true}
	// hmac_*(key, message): the first argument keys the HMAC (PHP's hash_hmac takes
	// the data first, then the key).
	case strings.HasPrefix(fn, "hmac_"):
		m := hmac.New(recipeDigests[strings.TrimPrefix(fn, "hmac_")], args[0].text())
		m.Write(args[1].text())
		v = value{b: m.Sum(nil), digest: true}
	// hex and base64 encode raw bytes: a digest's bytes, not its hex text.
	case fn == "hex":
		v.b = []byte(hex.EncodeToString(args[0].b))
	case fn == "unhex":
		b, err := hex.DecodeString(string(args[0].text()))
		if err != nil {
			return value{}, malformed("recipe", "unhex at column %d: the value is not hex", n.pos+1)
		}
		v.b = b
	case fn == "base64":
		v.b = []byte(base64.StdEncoding.EncodeToString(args[0].b))
	case fn == "lower":
		v.b = []byte(strings.ToLower(string(args[0].text())))
	case fn == "upper":
		v.b = []byte(strings.ToUpper(string(args[0].text())))
	}
	// Checked at every node: concatenation is the only way to grow, so one check per
	// node bounds every intermediate value.
	if len(v.b) > MaxRecipeValue {
		return value{}, malformed("recipe", "a value at column %d grows beyond %d bytes", n.pos+1, MaxRecipeValue)
	}
	return v, nil
}

// verify compares the recipe's result with the stored hash in constant time.
func (r *Recipe) verify(v *Verifier, s Stored, password string) (bool, error) {
	got, err := r.eval(password, s.Salt, v.opts.Key)
	if err != nil {
		return false, err
	}
	// A string result must equal the stored value exactly; a digest may be stored as
	// hex in either case or as base64.
	if !got.digest {
		return equal(got.b, []byte(s.Hash)), nil
	}
	want, _ := decodeDigest(s.Hash, len(got.b))
	if want == nil {
		return false, malformed("recipe", "the recipe makes a %d-byte digest, so the stored hash should be %d hex characters or its base64; got %d characters", len(got.b), 2*len(got.b), len(s.Hash))
	}
	return equal(got.b, want), nil
}
