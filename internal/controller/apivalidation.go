package controller

import (
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	genericvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/applyconfigurations"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kubernetes/pkg/api/pod"
	"k8s.io/kubernetes/pkg/apis/apps"
	appsinstall "k8s.io/kubernetes/pkg/apis/apps/install"
	appsvalidation "k8s.io/kubernetes/pkg/apis/apps/validation"
	"k8s.io/kubernetes/pkg/apis/core"
	coreinstall "k8s.io/kubernetes/pkg/apis/core/install"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
	"k8s.io/kubernetes/pkg/apis/networking"
	networkinginstall "k8s.io/kubernetes/pkg/apis/networking/install"
	networkingvalidation "k8s.io/kubernetes/pkg/apis/networking/validation"
	"k8s.io/kubernetes/pkg/apis/rbac"
	rbacinstall "k8s.io/kubernetes/pkg/apis/rbac/install"
	rbacvalidation "k8s.io/kubernetes/pkg/apis/rbac/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ValidateApply tells, without asking the API server, whether it would
// refuse the server-side apply that creates obj, and refuses it as the API
// server does: the same error, with the same causes at the same fields.
// It runs the API server's own code (k8s.io/kubernetes, pinned to the
// Kubernetes release the operator is built against) in process, so that
// admission costs no round trip per generated object: the structural
// check of the applied object, the defaults of its version, the
// conversion to the internal type and the validation of its kind for a
// create, with the pod validation options the API server derives from
// the pod template. What only the cluster knows (quotas, policy engines,
// other webhooks, the rules of an update to an existing object) it does
// not see: DryRunApply asks the cluster for that.
func ValidateApply(obj client.Object) error {
	gvk := obj.GetObjectKind().GroupVersionKind()
	api := apiServerCode()
	// The API server refuses an applied object whose list maps have two
	// entries of one key before anything else, and says so without causes.
	// (It reads the JSON apply sends, ApplyBody; the typed object has the
	// same lists, and reading it directly takes half the time.)
	if _, err := api.applyTypes.ObjectToTyped(obj); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("failed to create typed patch object (%s/%s; %s): %v",
			obj.GetNamespace(), obj.GetName(), gvk, err))
	}
	versioned := obj.DeepCopyObject()
	api.scheme.Default(versioned)
	internal, err := api.scheme.UnsafeConvertToVersion(versioned, schema.GroupVersion{Group: gvk.Group, Version: runtime.APIVersionInternal})
	if err != nil {
		return fmt.Errorf("convert %s %s to the API server's internal type: %w", gvk.Kind, obj.GetName(), err)
	}
	errs, err := validateCreate(internal)
	if err != nil {
		return err
	}
	if len(errs) == 0 {
		// As the API server does, after the kind's own validation, whose
		// messages are the more specific.
		m, err := meta.Accessor(internal)
		if err != nil {
			return err
		}
		errs = genericvalidation.ValidateObjectMetaAccessor(m, true, path.ValidatePathSegmentName, field.NewPath("metadata"))
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(gvk.GroupKind(), obj.GetName(), errs)
	}
	return nil
}

// apiServerCode is built on first use: reading the schema takes a while,
// which processes that never validate need not spend.
var apiServerCode = sync.OnceValue(func() inProcessAPI {
	s := runtime.NewScheme()
	coreinstall.Install(s)
	appsinstall.Install(s)
	networkinginstall.Install(s)
	rbacinstall.Install(s)
	return inProcessAPI{scheme: s, applyTypes: applyconfigurations.NewTypeConverter(clientgoscheme.Scheme)}
})

type inProcessAPI struct {
	// scheme knows the API server's internal types of the generated kinds,
	// and their v1 defaults and conversions. (The install packages also
	// install them in k8s.io/kubernetes's legacy scheme, which nothing here
	// reads.)
	scheme *runtime.Scheme
	// applyTypes reads an applied object with the list-map keys the API
	// server merges by: client-go's copy of the API server's schema.
	applyTypes managedfields.TypeConverter
}

// validateCreate is what the API server's storage strategy of obj's kind
// runs on a create (PrepareForCreate, then Validate): the strategies
// themselves live in packages that bring etcd's client along. The
// strategies' other preparations (status cleared, fields of disabled
// features other than the pod's dropped) touch nothing the builders set.
func validateCreate(obj runtime.Object) (field.ErrorList, error) {
	switch o := obj.(type) {
	case *apps.StatefulSet:
		pod.DropDisabledTemplateFields(&o.Spec.Template, nil)
		return appsvalidation.ValidateStatefulSet(o, pod.GetValidationOptionsFromPodTemplate(&o.Spec.Template, nil)), nil
	case *apps.Deployment:
		pod.DropDisabledTemplateFields(&o.Spec.Template, nil)
		return appsvalidation.ValidateDeployment(o, pod.GetValidationOptionsFromPodTemplate(&o.Spec.Template, nil)), nil
	case *core.Service:
		// The Service storage fills clusterIPs from clusterIP before it
		// validates (a headless Service: None).
		if o.Spec.ClusterIP != "" && len(o.Spec.ClusterIPs) == 0 {
			o.Spec.ClusterIPs = []string{o.Spec.ClusterIP}
		}
		return corevalidation.ValidateServiceCreate(o), nil
	case *core.ServiceAccount:
		return corevalidation.ValidateServiceAccount(o), nil
	case *core.ConfigMap:
		return corevalidation.ValidateConfigMap(o), nil
	case *networking.NetworkPolicy:
		return networkingvalidation.ValidateNetworkPolicy(o, networkingvalidation.ValidationOptionsForNetworking(o, nil)), nil
	case *rbac.Role:
		return rbacvalidation.ValidateRole(o), nil
	case *rbac.RoleBinding:
		return rbacvalidation.ValidateRoleBinding(o), nil
	}
	// A kind the builders started to generate and this file does not know:
	// fail rather than admit what nobody checked.
	return nil, fmt.Errorf("no in-process validation for %T: add it to validateCreate", obj)
}
