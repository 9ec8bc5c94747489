package topologies

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

//go:generate go run ./internal/genschema -o schema.json

// DefaultName is the built-in topology used when none is named: three
// nodes in one region, no WAN.
const DefaultName = "single-region"

// builtinPrefix marks a built-in topology in Topology.Source and in error
// positions: "embedded:single-region.yaml".
const builtinPrefix = "embedded:"

//go:embed dr.yaml managers.yaml mariadb.yaml single.yaml single-region.yaml stretched.yaml three-region.yaml
var builtins embed.FS

//go:embed schema.json
var schemaJSON string

// ErrUnknownBuiltin is returned (wrapped) by Builtin for a name that is not
// one of BuiltinNames.
var ErrUnknownBuiltin = errors.New("unknown built-in topology")

// Read loads, validates and resolves the topology file at path. Problems in
// the file come back as Errors, every one at once, positioned as
// "path:line:col: yaml.path: message"; warnings alone do not fail it and are
// in the result's Warnings.
func Read(path string) (*Topology, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return Parse(path, data)
}

// Parse validates and resolves a topology from data. name is where data
// came from: it becomes Topology.Source and the file in every Error.
//
// On failure the error is Errors (use errors.As), holding every problem
// found, warnings included, sorted by position. On success every default is
// applied (see doc.go) and Topology.Warnings holds the warnings, if any.
func Parse(name string, data []byte) (*Topology, error) {
	rep := &report{file: name}
	var t *Topology
	if doc := decode(rep, data); doc != nil {
		t = resolve(doc, rep)
	}
	all := rep.sorted()
	if t == nil || all.HasErrors() {
		return nil, all
	}
	t.Source = name
	if len(all) > 0 {
		t.Warnings = all
	}
	return t, nil
}

// Builtin loads one of the topologies shipped inside the binary, by name
// with or without ".yaml" (see BuiltinNames). Its Source is
// "embedded:<name>.yaml".
func Builtin(name string) (*Topology, error) {
	file := strings.TrimSuffix(name, ".yaml") + ".yaml"
	data, err := builtins.ReadFile(file)
	if err != nil || strings.ContainsAny(name, `/\`) {
		return nil, fmt.Errorf("load built-in topology %q: %w (built-in: %s)", name, ErrUnknownBuiltin, strings.Join(BuiltinNames(), ", "))
	}
	return Parse(builtinPrefix+file, data)
}

// BuiltinNames lists the built-in topologies, sorted, without ".yaml".
func BuiltinNames() []string {
	entries, _ := fs.ReadDir(builtins, ".") // cannot fail on an embed.FS root
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Default returns a fresh copy of the built-in DefaultName topology. It
// panics if that file is invalid, which the package's tests rule out.
func Default() *Topology {
	t, err := Builtin(DefaultName)
	if err != nil {
		panic(fmt.Sprintf("topologies: built-in %s is invalid: %v", DefaultName, err))
	}
	return t
}

// Load resolves what a user typed after --topology: a path when ref ends in
// .yaml or .yml or contains a path separator, else a built-in name. It
// saves every caller the same guess.
func Load(ref string) (*Topology, error) {
	ext := filepath.Ext(ref)
	if ext == ".yaml" || ext == ".yml" || strings.ContainsAny(ref, `/\`) {
		return Read(ref)
	}
	return Builtin(ref)
}

// Schema returns schema.json: the JSON Schema (draft 2020-12) of the
// topology file, for editors (point yaml-language-server at it) and for
// "replab schema". It is generated from the file's Go types by go generate.
func Schema() []byte { return []byte(schemaJSON) }
