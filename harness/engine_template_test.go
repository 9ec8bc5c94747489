package harness

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/replab/replab/harness/nodeimage"
	"github.com/replab/replab/internal/golden"
)

// TestPatroniConfigTemplateGolden renders a node's config for an image with
// an initdb template: a custom bootstrap and a replica method unpack it.
func TestPatroniConfigTemplateGolden(t *testing.T) {
	topo, p := testPlan(t, "single-region")
	p.PGTemplate = nodeimage.Recipe().PGTemplate
	out, err := patroniConfig(topo, p, p.Nodes[0], testCreds)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "patroni-single-region-lab-1-template.yml"), out)
}

// TestTemplateCommandsSplit checks the template commands survive Patroni's
// shlex.split as sh -c SCRIPT NAME: the scripts must hold no single quote.
func TestTemplateCommandsSplit(t *testing.T) {
	for _, cmd := range []string{templateBootstrapCommand("/t.tar.gz"), templateCloneCommand("/t.tar.gz", []string{"local all all trust"})} {
		prefix, rest, ok := strings.Cut(cmd, "'")
		if !ok || prefix != "sh -c " {
			t.Fatalf("command %q: want sh -c '...'", cmd)
		}
		script, name, ok := strings.Cut(rest, "'")
		if !ok || name != " "+templateMethod || strings.Contains(script, "'") {
			t.Errorf("command %q: want one single-quoted script and the name %s after it", cmd, templateMethod)
		}
	}
}

// TestInitdbMatchesTheTemplate checks that what Patroni would run initdb
// with (bootstrap.initdb and the superuser's name; Patroni's --pwfile aside)
// is what the image's template was made with, so that a lab bootstrapped
// from the template starts from the cluster initdb would have made.
func TestInitdbMatchesTheTemplate(t *testing.T) {
	topo, p := testPlan(t, "single-region")
	out, err := patroniConfig(topo, p, p.Nodes[0], testCreds)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Bootstrap struct {
			Initdb []any `yaml:"initdb"`
		} `yaml:"bootstrap"`
	}
	if err := yaml.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, o := range cfg.Bootstrap.Initdb {
		switch o := o.(type) {
		case string:
			args = append(args, "--"+o)
		case map[string]any:
			for k, v := range o {
				args = append(args, fmt.Sprintf("--%s=%v", k, v))
			}
		}
	}
	args = append(args, "--username="+testCreds.Superuser)
	want := nodeimage.Recipe().PGInitdb
	if !slices.Equal(args, want) {
		t.Errorf("Patroni runs initdb %q, the template was made with %q", args, want)
	}
}
