package topologies

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/replab/replab/topologies/internal/schemagen"
)

// TestSchemaUpToDate fails when schema.json no longer matches the Go types
// in internal/format it is generated from.
func TestSchemaUpToDate(t *testing.T) {
	want, err := schemagen.Generate()
	if err != nil {
		t.Fatal(err)
	}
	disk, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(disk, want) {
		t.Fatal("topologies/schema.json is stale: run `go generate ./topologies` and commit the result")
	}
	if !bytes.Equal(Schema(), disk) {
		t.Fatal("Schema() differs from schema.json: rebuild")
	}
}

// TestSchemaEnums keeps the enums editors offer equal to what validation
// accepts.
func TestSchemaEnums(t *testing.T) {
	var s struct {
		Version string `json:"$schema"`
		Defs    map[string]struct {
			Properties map[string]struct {
				Enum []string `json:"enum"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatalf("schema.json is not JSON: %v", err)
	}
	if s.Version != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %q, want draft 2020-12", s.Version)
	}
	for _, c := range []struct {
		def, prop string
		want      []string
	}{
		{"Engine", "kind", strs(EngineKinds())},
		{"DCS", "kind", DCSKinds()},
		{"Replication", "mode", strs(ReplicationModes())},
		{"Network", "backend", strs(Backends())},
	} {
		if got := s.Defs[c.def].Properties[c.prop].Enum; !slices.Equal(got, c.want) {
			t.Errorf("schema %s.%s enum = %v, validation accepts %v", c.def, c.prop, got, c.want)
		}
	}
}
