// Package schemagen renders schema.json, the JSON Schema (draft 2020-12) of
// the topology file, from the Go types in internal/format. It is kept apart
// from format so that only the generator and the tests link
// github.com/invopop/jsonschema.
package schemagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/replab/replab/topologies/internal/format"
)

// ID is the schema's $id.
const ID = "https://github.com/replab/replab/topologies/schema.json"

// Patterns an editor checks while you type. They are deliberately a little
// looser than the decoder (which also rejects, say, jitter above rtt/2).
const (
	durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+)$`
	percentPattern  = `^[0-9]+(\.[0-9]+)?\s*%?$`
	ratePattern     = `^[0-9]+(\.[0-9]+)?\s*[kKmMgG]?([bB][iI][tT]|[bB][pP][sS])$`
	versionPattern  = `^[0-9]+(\.[0-9]+)*$`
	namePattern     = `^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`
	gucPattern      = `^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`
)

// Generate returns schema.json's bytes: indented JSON ending in a newline.
func Generate() ([]byte, error) {
	r := &jsonschema.Reflector{
		FieldNameTag:               "yaml",
		RequiredFromJSONSchemaTags: true,
		ExpandedStruct:             true,
		Anonymous:                  true,
		Mapper:                     textSchema,
	}
	s := r.Reflect(format.File{})
	s.ID = ID
	s.Title = "replab topology"
	s.Description = "A declarative PostgreSQL+Patroni+etcd lab: regions of nodes, the WAN between them, replication policy and SLA targets."
	regions, ok := s.Properties.Get("regions")
	if !ok {
		return nil, fmt.Errorf("generate schema: no regions property in %T", format.File{})
	}
	one := uint64(1)
	regions.MinProperties = &one
	regions.PropertyNames = &jsonschema.Schema{Pattern: namePattern, MaxLength: ptr(uint64(32))}
	pg, ok := s.Definitions["PostgreSQL"]
	if !ok {
		return nil, fmt.Errorf("generate schema: no PostgreSQL definition in %T", format.File{})
	}
	params, ok := pg.Properties.Get("parameters")
	if !ok {
		return nil, fmt.Errorf("generate schema: no parameters property in %T", format.PostgreSQL{})
	}
	params.PropertyNames = &jsonschema.Schema{Pattern: gucPattern, MaxLength: ptr(uint64(63))}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode schema: %w", err)
	}
	return buf.Bytes(), nil
}

// textSchema maps the format's text scalars to string (or string-or-number)
// schemas with the patterns the decoder accepts. It returns a fresh schema
// each time because the reflector writes field tags into it.
func textSchema(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[format.Duration]():
		return &jsonschema.Schema{Type: "string", Pattern: durationPattern}
	case reflect.TypeFor[format.Rate]():
		return &jsonschema.Schema{Type: "string", Pattern: ratePattern}
	case reflect.TypeFor[format.Percent]():
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "string", Pattern: percentPattern},
			{Type: "number", Minimum: "0", Maximum: "100"},
		}}
	case reflect.TypeFor[format.Setting]():
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "string"},
			{Type: "number"},
			{Type: "boolean"},
		}}
	case reflect.TypeFor[format.Version]():
		return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{
			{Type: "string", Pattern: versionPattern},
			{Type: "number"},
		}}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
