//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// The seed's "Mount a volume" example (testdata/seed/filesystem.yaml, in
// its namespace data-processing): a PVC that already exists, mounted
// read-only at /projects/my-mcp-data through podTemplateSpec volumes and
// the mcp container's volumeMounts. The cluster has no provisioner, so the
// test brings a hostPath PersistentVolume bound to the claim. When the node
// is this machine, the volume holds a program and running it inside the
// mcp container (the image has no shell) proves the mount is readable.
func TestPersistentVolumeClaimMountedThroughPodTemplate(t *testing.T) {
	t.Parallel()
	n := namedNamespace(t, "data-processing")
	const name, claim, volume, mountPath = "filesystem", "my-mcp-data-claim", "my-mcp-data", "/projects/my-mcp-data"

	hostDir := filepath.Join(os.TempDir(), "switchboard-"+n.name+"-pv")
	local := nodeIsThisMachine(t)
	if local {
		if err := os.MkdirAll(hostDir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(hostDir) })
		// The pod runs as a non-root user: the directory must be world-readable.
		if err := os.Chmod(hostDir, 0o755); err != nil {
			t.Fatal(err)
		}
		buildStatic(t, "github.com/switchboard-mcp/switchboard/test/mcpserver", filepath.Join(hostDir, "mcpserver"))
	}

	pv := n.name + "-data" // cluster-scoped: named after the namespace
	t.Cleanup(func() { _, _ = kubectl("delete", "pv", pv, "--wait=false") })
	n.mustApply(fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %[1]s
spec:
  storageClassName: manual
  capacity: {storage: 10Mi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: %[2]s, type: DirectoryOrCreate}
  claimRef: {namespace: %[3]s, name: %[4]s}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: %[4]s
spec:
  storageClassName: manual
  volumeName: %[1]s
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
`, pv, hostDir, n.name, claim))
	n.must("wait", "pvc/"+claim, "--for=jsonpath={.status.phase}=Bound", "--timeout=120s")

	// As the seed applies it: `kubectl apply -f`, its namespace in the file.
	if out, err := kubectl("apply", "-f", seedFile("filesystem.yaml")); err != nil {
		t.Fatalf("kubectl apply -f filesystem.yaml: %v\n%s", err, out)
	}
	n.waitReady(name)
	n.waitCondition(name, v1beta1.ConditionPodTemplateValid, "True", v1beta1.ReasonPodTemplateValid)

	pod := "pod/" + naming.BackendStatefulSetName(name) + "-0"
	checks := []struct{ what, jsonpath, want string }{
		{"the pod's volume", `{.spec.volumes[?(@.name=="` + volume + `")].persistentVolumeClaim.claimName}`, claim},
		{"the mcp container's mount", `{.spec.containers[?(@.name=="mcp")].volumeMounts[?(@.name=="` + volume + `")].mountPath}`, mountPath},
		{"the mount is read-only", `{.spec.containers[?(@.name=="mcp")].volumeMounts[?(@.name=="` + volume + `")].readOnly}`, "true"},
		{"the pod", `{.status.phase}`, "Running"},
		{"the mcp container", `{.status.containerStatuses[?(@.name=="mcp")].ready}`, "true"},
	}
	for _, c := range checks {
		if got, err := n.field(pod, c.jsonpath); err != nil || got != c.want {
			t.Errorf("%s: %s of %s is %q (%v); want %q", c.what, c.jsonpath, pod, got, err, c.want)
		}
	}

	// The server itself still works through the proxy.
	endpoint := n.portForward("service/"+naming.ProxyServiceName(name), 8080) + "/mcp"
	waitWhoami(t, endpoint, naming.BackendStatefulSetName(name)+"-0")

	if !local {
		t.Log("the node is not this machine: the volume's content cannot be placed, readability not checked")
		return
	}
	program := mountPath + "/mcpserver"
	// Its flag usage starts with the path it was run from.
	out, err := n.run("exec", pod, "-c", naming.MCPContainer, "--", program, "-h")
	if !strings.Contains(out, "Usage of "+program+":") {
		t.Errorf("running %s in the mcp container (%v) did not run the program on the volume:\n%s", program, err, out)
	}
}

// nodeIsThisMachine reports whether the cluster's only node is this machine
// (the local cluster), so a hostPath is a directory the test can write.
func nodeIsThisMachine(t *testing.T) bool {
	t.Helper()
	out, err := kubectl("get", "nodes", "-o", `jsonpath={range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}`)
	if err != nil {
		t.Fatalf("kubectl get nodes: %v\n%s", err, out)
	}
	ips := strings.Fields(out)
	if len(ips) != 1 {
		return false
	}
	ip := net.ParseIP(ips[0])
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// buildStatic builds pkg as a static linux binary at out (the images have
// no libc).
func buildStatic(t *testing.T, pkg, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
}
