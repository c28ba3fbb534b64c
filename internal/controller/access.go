package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/access"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// resolveAccess builds the access document from the configs the server
// references. A config that is missing or invalid closes the proxy (it
// refuses every request, saying why) and is reported in out.
func (r refResolver) resolveAccess(ctx context.Context, s *v1beta1.MCPServer, out *resolvedRefs) error {
	if !s.Spec.ControlsAccess() {
		return nil
	}
	doc := &proxyconfig.Access{}
	var problems []string
	note := func(what string, err error) error {
		var missing missingError
		var bad invalidError
		switch {
		case errors.As(err, &missing):
			problems = append(problems, missing.Error())
			if !missing.listed {
				out.missingConfigs = append(out.missingConfigs, missing.what)
			}
		case err != nil && apierrors.IsNotFound(err):
			problems = append(problems, what+" not found")
		case errors.As(err, &bad):
			problems = append(problems, bad.Error())
			out.invalidConfigs = append(out.invalidConfigs, bad.Error())
		case err != nil:
			return fmt.Errorf("read %s: %w", what, err)
		}
		return nil
	}
	if ref := s.Spec.OIDCConfigRef; ref != nil {
		o, sec, err := r.oidc(ctx, s.Namespace, ref)
		if err := note(fmt.Sprintf("MCPOIDCConfig %q (spec.oidcConfigRef)", ref.Name), err); err != nil {
			return err
		}
		doc.OIDC, out.oidcClientSecret = o, sec
	}
	if a := s.Spec.AuthzConfig; a != nil {
		z, err := r.inlineAuthz(ctx, s, a)
		if err := note(fmt.Sprintf("ConfigMap %q (spec.authzConfig.configMap)", cmName(a)), err); err != nil {
			return err
		}
		doc.Authz = z
	}
	if ref := s.Spec.AuthzConfigRef; ref != nil {
		var c v1beta1.MCPAuthzConfig
		err := r.configs.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Name}, &c)
		if err == nil {
			doc.Authz, err = access.AuthzFromMCPAuthzConfig(&c.Spec, s.Name)
			err = invalid("MCPAuthzConfig", ref.Name, err)
		}
		if err := note(fmt.Sprintf("MCPAuthzConfig %q (spec.authzConfigRef)", ref.Name), err); err != nil {
			return err
		}
	}
	if ref := s.Spec.ToolConfigRef; ref != nil {
		var c v1beta1.MCPToolConfig
		err := r.configs.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: ref.Name}, &c)
		if err == nil {
			doc.Tools, err = access.Tools(&c.Spec)
			err = invalid("MCPToolConfig", ref.Name, err)
		}
		if err := note(fmt.Sprintf("MCPToolConfig %q (spec.toolConfigRef)", ref.Name), err); err != nil {
			return err
		}
	}
	if len(problems) > 0 {
		// Fail closed: nothing half-configured is enforced.
		doc = &proxyconfig.Access{Closed: strings.Join(problems, "; ")}
	}
	out.access = doc
	return nil
}

// oidc is the OIDC part of the document, with the CA bundle read in, and
// the Secret key of the introspection client secret.
func (r refResolver) oidc(ctx context.Context, ns string, ref *v1beta1.MCPOIDCConfigReference) (*proxyconfig.OIDC, *v1beta1.SecretKeyRef, error) {
	var c v1beta1.MCPOIDCConfig
	if err := r.configs.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &c); err != nil {
		return nil, nil, err
	}
	o, err := access.OIDC(&c.Spec, ref)
	if err != nil {
		return nil, nil, invalid("MCPOIDCConfig", ref.Name, err)
	}
	in := c.Spec.Inline
	if in == nil {
		return o, nil, nil
	}
	if in.CABundleRef != nil && in.CABundleRef.ConfigMapRef != nil {
		sel := in.CABundleRef.ConfigMapRef
		key := sel.Key
		if key == "" {
			key = v1beta1.DefaultOIDCCABundleKey
		}
		var cm corev1.ConfigMap
		err := r.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: sel.Name}, &cm)
		switch {
		case apierrors.IsNotFound(err):
			return nil, nil, missingError{what: fmt.Sprintf("ConfigMap %q (caBundleRef of MCPOIDCConfig %q)", sel.Name, ref.Name)}
		case err != nil:
			return nil, nil, fmt.Errorf("get ConfigMap %s: %w", sel.Name, err)
		}
		if o.CABundle = cm.Data[key]; o.CABundle == "" {
			return nil, nil, missingError{what: fmt.Sprintf("key %q in ConfigMap %q (caBundleRef of MCPOIDCConfig %q)", key, sel.Name, ref.Name)}
		}
	}
	return o, in.ClientSecretRef, nil
}

// inlineAuthz is the policy set of spec.authzConfig, reading its ConfigMap.
func (r refResolver) inlineAuthz(ctx context.Context, s *v1beta1.MCPServer, a *v1beta1.AuthzConfigRef) (*proxyconfig.Authz, error) {
	var data string
	if a.ConfigMap != nil {
		key := a.ConfigMap.Key
		if key == "" {
			key = v1beta1.DefaultAuthzConfigKey
		}
		var cm corev1.ConfigMap
		if err := r.reader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: a.ConfigMap.Name}, &cm); err != nil {
			return nil, err
		}
		var ok bool
		if data, ok = cm.Data[key]; !ok {
			return nil, missingError{what: fmt.Sprintf("key %q in ConfigMap %q (spec.authzConfig.configMap)", key, a.ConfigMap.Name), listed: true}
		}
	}
	z, err := access.AuthzInline(a, data, s.Name)
	if err != nil {
		src := "spec.authzConfig"
		if a.ConfigMap != nil {
			src = fmt.Sprintf("ConfigMap %q key %q (spec.authzConfig.configMap)", a.ConfigMap.Name, a.ConfigMap.Key)
		}
		return nil, invalidError{fmt.Sprintf("%s is invalid: %v", src, err)}
	}
	return z, nil
}

func cmName(a *v1beta1.AuthzConfigRef) string {
	if a.ConfigMap == nil {
		return ""
	}
	return a.ConfigMap.Name
}

// invalidError is a config that exists but cannot be enforced: the user
// has to fix it (a missing one, the server waits for).
type invalidError struct{ msg string }

func (e invalidError) Error() string { return e.msg }

// invalid is the validation error of the named config, or nil.
func invalid(kind, name string, err error) error {
	if err == nil {
		return nil
	}
	return invalidError{fmt.Sprintf("%s %q is invalid: %v", kind, name, err)}
}

// missingError is a referenced object that is not there, in words; listed
// when the reference check already reported it.
type missingError struct {
	what   string
	listed bool
}

func (m missingError) Error() string { return m.what + " not found" }
