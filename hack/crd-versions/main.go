// Command crd-versions serves every CRD that controller-gen wrote under
// config/crd/bases as toolhive.stacklok.dev/v1alpha1 too, with the v1beta1
// schema, as ToolHive does: one Go API (v1beta1, the storage version) and
// manifests of either version applying and reading alike. The versions
// share a schema, so the API server converts between them by changing
// apiVersion alone (conversion strategy None). make manifests runs it after
// controller-gen.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

const (
	served     = "v1beta1"
	deprecated = "v1alpha1"
	warning    = "toolhive.stacklok.dev/v1alpha1 is deprecated; use v1beta1"
)

func main() {
	files, err := filepath.Glob("config/crd/bases/*.yaml")
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no CRDs under config/crd/bases: run from the repository root after controller-gen")
	}
	for _, f := range files {
		if err == nil {
			err = addVersion(f)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crd-versions:", err)
		os.Exit(1)
	}
}

// addVersion rewrites the CRD in file with the deprecated version first,
// a copy of the served one; a CRD that has it already is left alone.
func addVersion(file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	spec, _ := crd["spec"].(map[string]any)
	versions, _ := spec["versions"].([]any)
	var source map[string]any
	for _, v := range versions {
		m, _ := v.(map[string]any)
		switch m["name"] {
		case deprecated:
			return nil
		case served:
			source = m
		}
	}
	if source == nil {
		return fmt.Errorf("%s: no version %s to copy", file, served)
	}
	var copied map[string]any
	b, _ := json.Marshal(source)
	if err := json.Unmarshal(b, &copied); err != nil {
		return err
	}
	copied["name"], copied["storage"] = deprecated, false
	copied["deprecated"], copied["deprecationWarning"] = true, warning
	spec["versions"] = append([]any{copied}, versions...)
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	if bytes.HasPrefix(raw, []byte("---\n")) {
		out = append([]byte("---\n"), out...)
	}
	return os.WriteFile(file, out, 0o644)
}
