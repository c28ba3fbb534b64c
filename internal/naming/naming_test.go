package naming

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPodLabels(t *testing.T) {
	tests := []struct {
		name      string
		component Component
		want      map[string]string
	}{
		{name: "proxy pods carry ToolHive's labelsForMCPServer beside ours", component: ComponentProxy, want: map[string]string{
			"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv",
			"app.kubernetes.io/component": "proxy", "app.kubernetes.io/managed-by": "switchboard",
			"app": "mcpserver", "toolhive": "true", "toolhive-name": "osv",
		}},
		{name: "backend pods carry the labels of ToolHive's runtime, app being the server's name", component: ComponentMCP, want: map[string]string{
			"app.kubernetes.io/name": "mcpserver", "app.kubernetes.io/instance": "osv",
			"app.kubernetes.io/component": "mcp", "app.kubernetes.io/managed-by": "switchboard",
			"app": "osv", "toolhive": "true", "toolhive-name": "osv", "toolhive-basename": "osv",
			"toolhive-transport": "stdio", "toolhive-port": "8080",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, PodLabels("osv", tt.component, "stdio", 8080)); d != "" {
				t.Errorf("labels (-want +got):\n%s", d)
			}
		})
	}
}

func TestSelectorLabelsHoldNoneOfToolHives(t *testing.T) {
	for _, c := range []Component{ComponentProxy, ComponentMCP} {
		for k := range SelectorLabels("osv", c) {
			switch k {
			case LabelApp, LabelToolHive, LabelToolHiveName, LabelToolHiveBaseName, LabelToolHiveTransport, LabelToolHivePort:
				t.Errorf("%s selector holds %s: selectors are immutable, ToolHive's labels go on pods only", c, k)
			}
		}
	}
}
