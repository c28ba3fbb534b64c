package v1beta1

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/controller"
)

// dryRunTimeout bounds the dry run of one admission request. With the
// reference lookups' 3 s it stays within the API server's default webhook
// timeout of 10 s, so a slow API server gets this webhook's own message.
const dryRunTimeout = 5 * time.Second

// dryRunUID stands in for the server's UID in the owner references of the
// generated objects when admission runs without one (called directly, not
// by the API server, which assigns it before validating webhooks run).
const dryRunUID types.UID = "00000000-0000-0000-0000-000000000000"

// checkGenerated checks every object the reconciler would generate for s
// as the API server will check it when the reconciler applies it, so that
// a server whose objects would be refused is refused itself, naming its
// own fields. By default the API server's own validation runs in process
// (controller.ValidateApply); with DryRun each object is applied with
// dryRun=All instead, and the cluster's admission (quotas, policies, other
// webhooks) has its say too. err is set when the objects could not be
// checked: the caller fails closed.
func (v Validator) checkGenerated(ctx context.Context, s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec) (admission.Warnings, field.ErrorList, error) {
	if s.DeletionTimestamp != nil || (v.DryRun && v.Client == nil) {
		return nil, nil, nil
	}
	owner := s.DeepCopy()
	if owner.UID == "" {
		owner.UID = dryRunUID
	}
	check, done := v.checker(ctx)
	defer done()
	o := origins{s: s, tmpl: tmpl}
	var warnings admission.Warnings
	var errs field.ErrorList
	seen := map[string]bool{} // the pod template's grace period reaches both workloads
	for _, obj := range controller.GeneratedObjects(owner, tmpl, v.ProxyImage, v.NetworkPolicy) {
		if v.DryRun && !dryRunnable(obj) {
			continue
		}
		err := check(obj)
		var status apierrors.APIStatus
		switch {
		case err == nil:
		case apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
			return nil, nil, nil // nothing will be created in a namespace that is going away
		case apierrors.IsForbidden(err) && strings.Contains(err.Error(), " cannot patch resource "):
			// RBAC: the operator does not manage this namespace (a
			// namespace-scoped install), so it would create nothing here.
			return append(warnings, fmt.Sprintf("the operator may not create the objects of this server in namespace %q (%v): "+
				"nothing will run it until the operator manages this namespace", s.Namespace, err)), nil, nil
		case apierrors.IsBadRequest(err) && strings.Contains(err.Error(), "does not support dry run"):
			desc, _ := o.generated(obj)
			warnings = append(warnings, fmt.Sprintf("the %s this server generates could not be checked: %v", desc, err))
		case errors.As(err, &status) && (refusal(status.Status()) || strings.Contains(err.Error(), "failed to create typed patch object")):
			// The last: the object's structure (duplicate keys in a list
			// map) is refused before validation.
			errs = append(errs, o.refused(obj, status.Status(), seen)...)
		case !v.DryRun:
			desc, _ := o.generated(obj)
			return warnings, nil, apierrors.NewInternalError(fmt.Errorf("could not check the %s this server generates: %w", desc, err))
		default:
			desc, _ := o.generated(obj)
			return warnings, nil, apierrors.NewServiceUnavailable(fmt.Sprintf(
				"could not check the %s this server generates against the API server (%v): retry; admission fails closed", desc, err))
		}
	}
	return warnings, errs, nil
}

// checker is how each generated object is checked: in process, or with a
// dry run, all of them within dryRunTimeout.
func (v Validator) checker(ctx context.Context) (check func(client.Object) error, done context.CancelFunc) {
	if !v.DryRun {
		return controller.ValidateApply, func() {}
	}
	ctx, cancel := context.WithTimeout(ctx, dryRunTimeout)
	return func(obj client.Object) error { return controller.DryRunApply(ctx, v.Client, obj) }, cancel
}

// dryRunnable: the proxy's Role and RoleBinding depend on nothing but the
// server's name and transport, and a dry-run RoleBinding would be checked
// against a Role that does not exist yet.
func dryRunnable(obj client.Object) bool {
	switch obj.(type) {
	case *rbacv1.Role, *rbacv1.RoleBinding:
		return false
	}
	return true
}

// refusal tells the API server's verdicts on the object (invalid,
// forbidden by a quota, a policy or RBAC, malformed) from its failures to
// give one (timeouts, unavailability, internal errors).
func refusal(s metav1.Status) bool {
	switch s.Reason {
	case metav1.StatusReasonInvalid, metav1.StatusReasonForbidden, metav1.StatusReasonBadRequest,
		metav1.StatusReasonConflict, metav1.StatusReasonAlreadyExists, metav1.StatusReasonRequestEntityTooLarge:
		return true
	}
	return false
}

// refused turns the API server's refusal of obj into errors of the
// MCPServer's fields: one per cause, at the field it comes from when one
// does, else at the field the object is built from, naming the object.
// A cause already seen at the same field (in another object) is left out.
func (o origins) refused(obj client.Object, s metav1.Status, seen map[string]bool) field.ErrorList {
	desc, from := o.generated(obj)
	var causes []metav1.StatusCause
	if s.Details != nil {
		causes = s.Details.Causes
	}
	var errs field.ErrorList
	for _, c := range causes {
		if strings.HasPrefix(c.Field, "metadata.ownerReferences") {
			// A child of an earlier server of this name, not yet garbage
			// collected: the reconciler retries until it is gone.
			continue
		}
		if p := o.path(obj, c.Field); p != "" {
			t, body := causeBody(c)
			if seen[p+"\x00"+body] {
				continue
			}
			seen[p+"\x00"+body] = true
			detail := fmt.Sprintf("the %s this server generates would be refused at %s: change %s", desc, c.Field, p)
			if body != "" {
				detail = fmt.Sprintf("%s (the %s this server generates would be refused at %s): change %s", body, desc, c.Field, p)
			}
			errs = append(errs, &field.Error{Type: t, Field: p, BadValue: field.OmitValueType{}, Detail: detail})
			continue
		}
		errs = append(errs, field.Invalid(field.NewPath(from), field.OmitValueType{},
			fmt.Sprintf("the %s this server generates would be refused: %s: %s; it comes from %s: change it there", desc, c.Field, c.Message, from)))
	}
	if len(causes) == 0 {
		if p := o.structural(s.Message); p != "" {
			from = p
		}
		errs = append(errs, field.Invalid(field.NewPath(from), field.OmitValueType{},
			fmt.Sprintf("the %s this server generates would be refused: %s; it comes from %s: change it there", desc, s.Message, from)))
	}
	return errs
}

// structuralField finds the container field in a server-side apply error
// about the object's structure ("failed to create typed patch object
// (...): .spec.template.spec.containers[name="log"].ports: duplicate
// entries for key ..."), which has no causes.
var structuralField = regexp.MustCompile(`\.spec\.template\.spec\.(containers|initContainers)\[name="([^"]+)"\]((?:\.[A-Za-z]+)*)`)

// structural is the MCPServer field such an error is about, or "".
func (o origins) structural(msg string) string {
	m := structuralField.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	return o.templateContainer(m[1], m[2], m[3])
}

// causeBody splits a cause's message ("Invalid value: \"x\": detail") into
// its error type and the rest, which the field error prints after it.
func causeBody(c metav1.StatusCause) (field.ErrorType, string) {
	t := field.ErrorType(c.Type)
	if body, ok := strings.CutPrefix(c.Message, t.String()); ok && !strings.HasPrefix(t.String(), "<unknown") {
		return t, strings.TrimPrefix(body, ": ")
	}
	return field.ErrorTypeInvalid, c.Message
}
