// Command render writes cert-manager's install manifest (Namespace, CRDs, RBAC,
// Deployments, Services, webhook configurations) for the local cluster, from
// the Helm chart that the cert-manager Go module ships, with the Helm Go SDK:
// no helm binary, no network.
//
//	render -chart DIR -version 1.21.2 -kube-version 1.35.4 -image-prefix switchboard.local/cert-manager- > cert-manager.yaml
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/strvals"
	"sigs.k8s.io/yaml"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run() error {
	chartDir := flag.String("chart", "", "the chart directory (deploy/charts/cert-manager in the cert-manager module)")
	version := flag.String("version", "", "the cert-manager version, without v (sets the chart version and the image tags)")
	kubeVersion := flag.String("kube-version", "", "the Kubernetes version the chart is rendered for, without v")
	namespace := flag.String("namespace", "cert-manager", "the namespace cert-manager is installed into")
	imagePrefix := flag.String("image-prefix", "switchboard.local/cert-manager-", "image repository prefix; the component name is appended")
	pullPolicy := flag.String("pull-policy", "Never", "imagePullPolicy of every container")
	var sets []string
	flag.Func("set", "an extra chart value, as helm --set (repeatable)", func(s string) error { sets = append(sets, s); return nil })
	flag.Parse()
	if *chartDir == "" || *version == "" || *kubeVersion == "" {
		flag.Usage()
		return fmt.Errorf("-chart, -version and -kube-version are required")
	}

	ch, err := loader.Load(*chartDir)
	if err != nil {
		return err
	}
	// The chart's Chart.yaml is a template (version v0.0.0): cert-manager's
	// release tooling stamps the version in; so do we.
	ch.Metadata.Version = "v" + *version
	ch.Metadata.AppVersion = "v" + *version

	tag := "v" + *version
	values := map[string]any{}
	for _, s := range append(defaultSets(*imagePrefix, tag, *pullPolicy), sets...) {
		if err := strvals.ParseInto(s, values); err != nil {
			return fmt.Errorf("--set %s: %w", s, err)
		}
	}

	kv, err := chartutil.ParseKubeVersion(*kubeVersion)
	if err != nil {
		return err
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	rv, err := chartutil.ToRenderValues(ch, values, chartutil.ReleaseOptions{
		Name: "cert-manager", Namespace: *namespace, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return err
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return err
	}
	if len(hooks) > 0 {
		return fmt.Errorf("the chart rendered %d hooks (first: %s); this installer applies plain manifests only", len(hooks), hooks[0].Path)
	}

	var out bytes.Buffer
	fmt.Fprintf(&out, "# cert-manager v%s for namespace %s, rendered offline from the Helm chart in the\n", *version, *namespace)
	fmt.Fprintf(&out, "# github.com/cert-manager/cert-manager module by hack/cert-manager-manifests.sh. Do not edit.\n")
	fmt.Fprintf(&out, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", *namespace)
	for _, m := range manifests {
		body := strings.TrimSpace(m.Content)
		if body == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", m.Name, body)
	}
	if err := check(out.Bytes(), *namespace, *imagePrefix, tag, *pullPolicy); err != nil {
		return fmt.Errorf("rendered manifest: %w", err)
	}
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

// defaultSets are the chart values for the local cluster: CRDs included, no
// startupapicheck Job (install-cert-manager.sh checks the webhook itself), and
// locally built images that are never pulled.
func defaultSets(prefix, tag, pullPolicy string) []string {
	sets := []string{
		"crds.enabled=true",
		"crds.keep=false",
		"startupapicheck.enabled=false",
		"creator=static",
	}
	for value, component := range map[string]string{
		"image": "controller", "webhook.image": "webhook", "cainjector.image": "cainjector", "acmesolver.image": "acmesolver",
	} {
		sets = append(sets,
			value+".repository="+prefix+component,
			value+".tag="+tag,
			value+".pullPolicy="+pullPolicy)
	}
	return sets
}

// object is the part of a rendered object that check looks at.
type object struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Versions []struct {
			Name   string `json:"name"`
			Served bool   `json:"served"`
		} `json:"versions"`
		Template struct {
			Spec struct {
				Containers []struct {
					Name            string   `json:"name"`
					Image           string   `json:"image"`
					ImagePullPolicy string   `json:"imagePullPolicy"`
					Args            []string `json:"args"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// check fails unless the manifest has what the local cluster relies on: the
// namespace, the six CRDs (cert-manager.io/v1 Certificate and Issuer among
// them, as config/certmanager uses), the three Deployments on the local
// images with the given pull policy and no other image, their Services and
// the webhook configurations.
func check(manifest []byte, namespace, prefix, tag, pullPolicy string) error {
	want := map[string]bool{
		"Namespace/" + namespace:                                       false,
		"CustomResourceDefinition/certificates.cert-manager.io":        false,
		"CustomResourceDefinition/issuers.cert-manager.io":             false,
		"CustomResourceDefinition/clusterissuers.cert-manager.io":      false,
		"CustomResourceDefinition/certificaterequests.cert-manager.io": false,
		"CustomResourceDefinition/orders.acme.cert-manager.io":         false,
		"CustomResourceDefinition/challenges.acme.cert-manager.io":     false,
		"Deployment/cert-manager":                                      false,
		"Deployment/cert-manager-webhook":                              false,
		"Deployment/cert-manager-cainjector":                           false,
		"Service/cert-manager-webhook":                                 false,
		"MutatingWebhookConfiguration/cert-manager-webhook":            false,
		"ValidatingWebhookConfiguration/cert-manager-webhook":          false,
	}
	images := map[string]string{
		"cert-manager": "controller", "cert-manager-webhook": "webhook", "cert-manager-cainjector": "cainjector",
	}
	for _, doc := range strings.Split(string(manifest), "\n---\n") {
		var o object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return err
		}
		if o.Kind == "" {
			return fmt.Errorf("a document has no kind: %.200s", doc)
		}
		key := o.Kind + "/" + o.Metadata.Name
		if _, ok := want[key]; ok {
			want[key] = true
		}
		// Leader-election Roles live in kube-system, the chart's default.
		if ns := o.Metadata.Namespace; ns != "" && ns != namespace && ns != "kube-system" {
			return fmt.Errorf("%s is in namespace %s", key, ns)
		}
		if o.Kind == "CustomResourceDefinition" && strings.HasSuffix(o.Metadata.Name, "cert-manager.io") {
			served := false
			for _, v := range o.Spec.Versions {
				served = served || (v.Name == "v1" && v.Served)
			}
			if !served {
				return fmt.Errorf("%s does not serve v1", key)
			}
		}
		for _, c := range o.Spec.Template.Spec.Containers {
			wantImage := prefix + images[o.Metadata.Name] + ":" + tag
			if images[o.Metadata.Name] == "" || c.Image != wantImage {
				return fmt.Errorf("%s container %s: image %q, want %q", key, c.Name, c.Image, wantImage)
			}
			if c.ImagePullPolicy != pullPolicy {
				return fmt.Errorf("%s container %s: imagePullPolicy %q, want %q", key, c.Name, c.ImagePullPolicy, pullPolicy)
			}
		}
	}
	for key, found := range want {
		if !found {
			return fmt.Errorf("%s is missing", key)
		}
	}
	return nil
}
