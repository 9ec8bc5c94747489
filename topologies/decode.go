package topologies

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/replab/replab/topologies/internal/format"
)

// document is a decoded topology file: the values as written and, for every
// YAML path present in the file, where its key and its value are.
type document struct {
	file format.File
	// spans holds the positions of every path that is present with a
	// non-null value (map entries and list items even when null).
	spans map[string]span
	// bad holds the paths whose value could not be decoded; the problem is
	// already reported, so validation skips them and everything below.
	bad  map[string]bool
	root loc
}

// span is where an entry's key and its value start. For list items and the
// root, key and value are the same place.
type span struct{ key, val loc }

// has reports whether path is present in the file with a usable value.
func (d *document) has(path string) bool {
	_, ok := d.spans[path]
	return ok && !d.broken(path)
}

// broken reports whether path or one of its parents failed to decode.
func (d *document) broken(path string) bool {
	for p := path; p != ""; p = parentPath(p) {
		if d.bad[p] {
			return true
		}
	}
	return false
}

// at returns where path's value is, or the nearest present parent's key
// when path is absent, so that "missing" problems point at the mapping
// that lacks the key.
func (d *document) at(path string) loc {
	if s, ok := d.spans[path]; ok {
		return s.val
	}
	return d.near(path)
}

// keyAt returns where path's key is, or the nearest present parent's key.
func (d *document) keyAt(path string) loc {
	if s, ok := d.spans[path]; ok {
		return s.key
	}
	return d.near(path)
}

func (d *document) near(path string) loc {
	for p := parentPath(path); p != ""; p = parentPath(p) {
		if s, ok := d.spans[p]; ok {
			return s.key
		}
	}
	return d.root
}

// parentPath strips the last element of a path: "a.b[1].c" -> "a.b[1]" ->
// "a.b" -> "a" -> "".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func childPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// maxVisits bounds the nodes one file may make the decoder visit, so that
// aliases to aliases cannot blow up the work (a "billion laughs" file).
const maxVisits = 100_000

// decoder maps a goccy/go-yaml AST onto the format types, reporting every
// unknown key, duplicate key and type mismatch instead of stopping at the
// first one as yaml.Unmarshal does.
type decoder struct {
	rep     *report
	doc     *document
	anchors []*ast.AnchorNode
	visits  int
}

// decode parses data and maps it onto format.File. It returns nil when the
// file cannot be parsed at all (a syntax error, an empty file, a top level
// that is not a mapping); the reason is in rep.
func decode(rep *report, data []byte) *document {
	f, err := parseYAML(data)
	if err != nil {
		reportSyntax(rep, err)
		return nil
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		rep.errorf(loc{1, 1}, "", "file is empty: a topology needs at least name and regions")
		return nil
	}
	body := docs[0].Body
	if len(docs) > 1 {
		rep.errorf(nodeLoc(docs[1].Body), "", "want one YAML document, found %d: split the others into their own files", len(docs))
	}
	doc := &document{spans: map[string]span{}, bad: map[string]bool{}, root: nodeLoc(body)}
	d := &decoder{rep: rep, doc: doc}
	for _, n := range ast.Filter(ast.AnchorType, body) {
		if a, ok := n.(*ast.AnchorNode); ok {
			d.anchors = append(d.anchors, a)
		}
	}
	n, at := d.deref(body, "")
	if n == nil {
		return nil
	}
	if !isMapping(n) {
		rep.errorf(at, "", "want a mapping of keys like name: and regions: at the top level, got %s", describe(n))
		return nil
	}
	d.value(n, reflect.ValueOf(&doc.file).Elem(), "")
	return doc
}

// parseYAML runs goccy/go-yaml's parser, allowing duplicate keys (the
// decoder reports them with everything else). A panic inside the parser,
// which its history says can happen on odd input, becomes an error: a
// malformed file must never take replab down.
func parseYAML(data []byte) (f *ast.File, err error) {
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, fmt.Errorf("parse yaml: parser failed on this input: %v", p)
		}
	}()
	return parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
}

// reportSyntax turns a goccy/go-yaml parse error into one positioned Error.
func reportSyntax(rep *report, err error) {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
		p := ye.GetToken().Position
		rep.errorf(loc{p.Line, p.Column}, "", "invalid YAML: %s", ye.GetMessage())
		return
	}
	rep.errorf(loc{}, "", "invalid YAML: %v", err)
}

var textType = reflect.TypeFor[format.Text]()

// value decodes n into v, the field or element at path. Null leaves v at
// its zero value: an empty value means "use the default".
func (d *decoder) value(n ast.Node, v reflect.Value, path string) {
	n, at := d.deref(n, path)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return
	}
	if d.visits++; d.visits > maxVisits {
		if d.visits == maxVisits+1 {
			d.rep.errorf(at, path, "file too large: more than %d values (aliases count each time they are used)", maxVisits)
		}
		d.fail(path)
		return
	}
	t := v.Type()
	if t.Implements(textType) {
		d.text(n, at, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.structure(n, at, v, path)
	case reflect.Map:
		d.mapping(n, at, v, path)
	case reflect.Slice:
		d.list(n, at, v, path)
	case reflect.String:
		s, ok := n.(*ast.StringNode)
		switch {
		case ok:
			v.SetString(s.Value)
		case isLiteral(n):
			v.SetString(n.(*ast.LiteralNode).Value.Value)
		case isNumber(n):
			d.mismatch(at, path, fmt.Sprintf("a string (quote it: %q)", n.GetToken().Value), n)
		default:
			d.mismatch(at, path, "a string", n)
		}
	case reflect.Int:
		d.integer(n, at, v, path)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.mismatch(at, path, "true or false", n)
			return
		}
		v.SetBool(b.Value)
	default:
		panic(fmt.Sprintf("topologies: format type %s has unsupported kind %s", t, t.Kind()))
	}
}

// text decodes a format.Text scalar, keeping the value as written.
func (d *decoder) text(n ast.Node, at loc, v reflect.Value, path string) {
	want := v.Interface().(format.Text)
	switch n := n.(type) {
	case *ast.StringNode:
		v.SetString(n.Value)
		return
	case *ast.IntegerNode, *ast.FloatNode:
		if want.NumbersAllowed() {
			v.SetString(n.GetToken().Value)
			return
		}
		d.rep.errorf(at, path, "want %s, got number %s: add a unit", want.Want(), n.GetToken().Value)
		d.fail(path)
		return
	case *ast.BoolNode:
		if b, ok := want.(interface{ BoolsAllowed() bool }); ok && b.BoolsAllowed() {
			v.SetString(n.GetToken().Value)
			return
		}
	}
	d.mismatch(at, path, want.Want(), n)
}

func (d *decoder) integer(n ast.Node, at loc, v reflect.Value, path string) {
	in, ok := n.(*ast.IntegerNode)
	if !ok {
		d.mismatch(at, path, "a whole number", n)
		return
	}
	var i int64
	switch x := in.Value.(type) {
	case int64:
		i = x
	case uint64:
		if x > math.MaxInt32 {
			ok = false
		}
		i = int64(x)
	default:
		ok = false
	}
	if !ok || i > math.MaxInt32 || i < math.MinInt32 {
		d.rep.errorf(at, path, "number %s is out of range", in.GetToken().Value)
		d.fail(path)
		return
	}
	v.SetInt(i)
}

// entry is one key: value pair of a mapping, with the key as text.
type entry struct {
	key    string
	keyAt  loc
	value  ast.Node
	valAt  loc
	isNull bool
}

// entries lists a mapping's pairs, reporting keys that are not plain text
// and duplicate keys (goccy/go-yaml is told to allow them so that they are
// reported with everything else instead of one at a time).
func (d *decoder) entries(n ast.Node, path string) []entry {
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	}
	first := map[string]loc{}
	var out []entry
	for _, p := range pairs {
		if p == nil || p.Key == nil {
			continue
		}
		kat := nodeLoc(p.Key)
		var key string
		switch k := p.Key.(type) {
		case *ast.StringNode:
			key = k.Value
		case *ast.MergeKeyNode:
			d.rep.errorf(kat, path, "merge keys (<<) are not supported: write the keys out")
			continue
		case ast.ScalarNode:
			key = k.GetToken().Value
		default:
			d.rep.errorf(kat, path, "want a plain key, got %s", describe(p.Key))
			continue
		}
		if prev, dup := first[key]; dup {
			if path == "regions" {
				d.rep.errorf(kat, childPath(path, key), "duplicate region %q (first at line %d): list all its nodes under one key", key, prev.line)
			} else {
				d.rep.errorf(kat, childPath(path, key), "duplicate key %q (first at line %d): remove one", key, prev.line)
			}
			continue
		}
		first[key] = kat
		e := entry{key: key, keyAt: kat, value: p.Value, valAt: kat, isNull: true}
		if val, vat, problem := d.follow(p.Value); val != nil || problem != "" {
			_, e.isNull = val.(*ast.NullNode)
			e.valAt = vat
		}
		out = append(out, e)
	}
	return out
}

// structure decodes a mapping into a format struct, one field per yaml tag.
func (d *decoder) structure(n ast.Node, at loc, v reflect.Value, path string) {
	if !isMapping(n) {
		d.mismatch(at, path, "a mapping", n)
		return
	}
	t := v.Type()
	var keys []string
	fields := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		keys = append(keys, name)
		fields[name] = i
	}
	for _, e := range d.entries(n, path) {
		p := childPath(path, e.key)
		i, ok := fields[e.key]
		if !ok {
			d.rep.errorf(e.keyAt, p, "unknown key %q%s", e.key, suggest(e.key, keys, "valid keys"))
			continue
		}
		if e.isNull {
			continue
		}
		d.doc.spans[p] = span{e.keyAt, e.valAt}
		d.value(e.value, v.Field(i), p)
	}
}

// mapping decodes a mapping with free-form keys (regions). Entries are
// recorded even when their value is empty, so that "region has no nodes"
// can be reported; their order is recovered from the spans.
func (d *decoder) mapping(n ast.Node, at loc, v reflect.Value, path string) {
	if !isMapping(n) {
		d.mismatch(at, path, "a mapping", n)
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	elemType := v.Type().Elem()
	for _, e := range d.entries(n, path) {
		p := childPath(path, e.key)
		d.doc.spans[p] = span{e.keyAt, e.valAt}
		if e.isNull && elemType.Implements(textType) {
			// An empty value elsewhere means "the default"; a setting
			// written without one has no default to fall back on.
			d.mismatch(e.keyAt, p, reflect.Zero(elemType).Interface().(format.Text).Want(), &ast.NullNode{})
			continue
		}
		elem := reflect.New(elemType).Elem()
		d.value(e.value, elem, p)
		v.SetMapIndex(reflect.ValueOf(e.key), elem)
	}
}

// list decodes a sequence into a slice.
func (d *decoder) list(n ast.Node, at loc, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.mismatch(at, path, "a list", n)
		return
	}
	out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, item := range seq.Values {
		p := fmt.Sprintf("%s[%d]", path, i)
		_, iat, _ := d.follow(item)
		if iat == (loc{}) {
			iat = at
		}
		d.doc.spans[p] = span{iat, iat}
		d.value(item, out.Index(i), p)
	}
	v.Set(out)
}

// mismatch reports a value of the wrong type and marks path as bad.
func (d *decoder) mismatch(at loc, path, want string, got ast.Node) {
	d.rep.errorf(at, path, "want %s, got %s", want, describe(got))
	d.fail(path)
}

func (d *decoder) fail(path string) { d.doc.bad[path] = true }

// deref follows anchors and aliases to the node that holds the value,
// reporting what cannot be followed. It returns where the value is: the
// alias when there is one (that is where the user wrote it), else the value
// itself. A nil node means there is no usable value.
func (d *decoder) deref(n ast.Node, path string) (ast.Node, loc) {
	n, at, problem := d.follow(n)
	if problem != "" {
		d.rep.errorf(at, path, "%s", problem)
		d.fail(path)
		return nil, at
	}
	return n, at
}

// follow is deref without reporting: anchors are transparent, aliases are
// replaced by what they name, tags are refused.
func (d *decoder) follow(n ast.Node) (ast.Node, loc, string) {
	var at loc
	aliased := false
	for range 8 {
		if isNil(n) {
			return nil, at, ""
		}
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
			continue
		case *ast.AliasNode:
			if !aliased {
				at, aliased = nodeLoc(x), true
			}
			name := aliasName(x)
			if n = d.anchor(x); n == nil {
				return nil, nodeLoc(x), fmt.Sprintf("unknown anchor *%s: define &%s before using it", name, name)
			}
			continue
		case *ast.TagNode:
			tag := ""
			if x.Start != nil {
				tag = x.Start.Value
			}
			return nil, nodeLoc(x), fmt.Sprintf("YAML tags like %s are not supported: quote the value instead", tag)
		}
		if !aliased {
			at = nodeLoc(n)
		}
		return n, at, ""
	}
	return nil, at, "aliases nest too deep"
}

func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// anchor finds the anchor an alias refers to: the last one with that name
// defined before the alias.
func (d *decoder) anchor(a *ast.AliasNode) ast.Node {
	name := aliasName(a)
	off := a.GetToken().Position.Offset
	var found ast.Node
	for _, an := range d.anchors {
		if an.Name == nil || an.Name.GetToken() == nil || an.Name.GetToken().Value != name {
			continue
		}
		if an.GetToken().Position.Offset < off {
			found = an.Value
		}
	}
	return found
}

func aliasName(a *ast.AliasNode) string {
	if a.Value == nil || a.Value.GetToken() == nil {
		return ""
	}
	return a.Value.GetToken().Value
}

// nodeLoc is where a node starts: the first key of a block mapping (goccy
// points mappings at their first colon), the token otherwise.
func nodeLoc(n ast.Node) loc {
	switch m := n.(type) {
	case *ast.MappingNode:
		if !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0] != nil && m.Values[0].Key != nil {
			return nodeLoc(m.Values[0].Key)
		}
	case *ast.MappingValueNode:
		if m.Key != nil {
			return nodeLoc(m.Key)
		}
	}
	if n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return loc{}
	}
	p := n.GetToken().Position
	return loc{p.Line, p.Column}
}

func isMapping(n ast.Node) bool {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return true
	}
	return false
}

func isNumber(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return true
	}
	return false
}

func isLiteral(n ast.Node) bool {
	l, ok := n.(*ast.LiteralNode)
	return ok && l.Value != nil
}

// describe names what the user wrote, for type errors.
func describe(n ast.Node) string {
	switch x := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode:
		return "text " + strconv.Quote(x.Value)
	case *ast.LiteralNode:
		return "a block of text"
	case *ast.BoolNode:
		return strconv.FormatBool(x.Value)
	case *ast.NullNode:
		return "nothing"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "number " + x.GetToken().Value
	}
	return n.Type().YAMLName()
}

// suggest formats " (did you mean "x"? valid keys: a, b)" for an unknown
// name, offering the closest valid name when it is a plausible typo.
func suggest(got string, valid []string, what string) string {
	best, bestDist := "", 0
	lower := strings.ToLower(got)
	for _, v := range valid {
		dist := editDistance(lower, v)
		plausible := dist <= 2 && dist*2 <= len(v)
		if len(lower) >= 3 && (strings.HasPrefix(v, lower) || strings.HasPrefix(lower, v)) {
			plausible = true // a truncated or extended name: "ap-south", "mbits"
		}
		if plausible && (best == "" || dist < bestDist) {
			best, bestDist = v, dist
		}
	}
	list := strings.Join(valid, ", ")
	if best != "" {
		return fmt.Sprintf(" (did you mean %q? %s: %s)", best, what, list)
	}
	return fmt.Sprintf(" (%s: %s)", what, list)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sortedKeys returns m's keys in file order, using the recorded spans.
func (d *document) sortedKeys(path string, keys []string) []string {
	out := slices.Clone(keys)
	slices.SortStableFunc(out, func(a, b string) int {
		la, lb := d.keyAt(childPath(path, a)), d.keyAt(childPath(path, b))
		switch {
		case la.before(lb):
			return -1
		case lb.before(la):
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}
