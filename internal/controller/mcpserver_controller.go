// Package controller reconciles MCPServers: it builds every child object with
// pure functions (one file per object), applies them with server-side apply,
// and computes the status from what it observes.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// MCPServerReconciler turns an MCPServer into its proxy and backend objects.
type MCPServerReconciler struct {
	client.Client
	// APIReader reads referenced Secrets and ConfigMaps uncached.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// ProxyImage is the image of the proxy container.
	ProxyImage string
	// ProxyHealth reads the proxy pods' health reports (default: HTTP to
	// the pod IP, HTTPProxyHealth).
	ProxyHealth ProxyHealth
	// NetworkPolicy is whether servers get NetworkPolicies by default, and
	// which operator pods the proxy's policy admits.
	NetworkPolicy NetworkPolicyOptions
	// MaxConcurrentReconciles is how many servers are reconciled at once
	// (default 1). A reconcile spends most of its time waiting on the API
	// server and the proxies' /health, so one at a time leaves a thousand
	// new servers waiting in line for minutes.
	MaxConcurrentReconciles int

	// applied remembers what was last applied of each child, so that an
	// unchanged server costs no requests.
	applied applier
	// recorded remembers the last transition evented per server: two
	// reconciles can start from the same stale cached status.
	recorded sync.Map // types.UID → string
}

// +kubebuilder:rbac:groups=toolhive.stacklok.dev,resources=mcpservers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=toolhive.stacklok.dev,resources=mcpservers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=toolhive.stacklok.dev,resources=mcptoolconfigs;mcpoidcconfigs;mcpauthzconfigs;mcptelemetryconfigs,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=services;serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;patch;delete
// An immediate restart deletes the server's pods.
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;delete
// The operator can only grant what it holds, so it holds the proxy's rules too.
// +kubebuilder:rbac:groups="",resources=pods/log,verbs=get
// +kubebuilder:rbac:groups="",resources=pods/attach,verbs=create;get
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete

// Reconcile fetches the MCPServer, applies its desired children, carries
// out an immediate restart, observes them and writes the status once.
func (r *MCPServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	var stored v1beta1.MCPServer
	if err := r.Get(ctx, req.NamespacedName, &stored); err != nil {
		if apierrors.IsNotFound(err) {
			r.applied.forgetServer(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	// Default again: a server admitted while the webhook was down must
	// behave as one that went through it.
	s := stored.DeepCopy()
	s.Default(nil)

	o := observation{now: time.Now()}
	tmpl, err := s.Spec.DecodePodTemplate()
	o.templateErr = err
	if o.refs, err = (refResolver{reader: r.APIReader, configs: r.Client}).resolve(ctx, s); err != nil {
		return ctrl.Result{}, fmt.Errorf("resolve references of %s: %w", req, err)
	}
	if s.DeletionTimestamp == nil && o.templateErr == nil {
		o.applyErr = r.applyChildren(ctx, s, tmpl, o.refs)
		if apierrors.HasStatusCause(o.applyErr, corev1.NamespaceTerminatingCause) {
			// The namespace is being deleted, and the server with it: its
			// children are gone for good, and retrying would only fill the
			// queue (and the log) until the server's own deletion comes.
			log.V(1).Info("namespace is terminating; not re-creating the server's children")
			return ctrl.Result{}, nil
		}
		o.networkPolicies = o.applyErr == nil && s.Spec.NetworkPolicyEnabled(r.NetworkPolicy.ByDefault)
	}
	if s.DeletionTimestamp == nil && o.applyErr == nil {
		if err := r.handleRestart(ctx, &stored); err != nil {
			return ctrl.Result{}, err
		}
	}
	if err := r.observe(ctx, s, &o); err != nil {
		return ctrl.Result{}, err
	}
	o.proxies = r.askProxies(ctx, s, o.pods)
	for _, p := range o.proxies {
		if p.err != nil {
			log.V(1).Info("proxy health report unreadable", "pod", p.pod, "error", p.err.Error())
		}
	}

	status := computeStatus(s, o)
	r.recordTransition(&stored, status)
	r.recordStorageWarning(&stored, status)
	r.recordTelemetryWarning(&stored, status)
	if !equality.Semantic.DeepEqual(stored.Status, status) {
		// A merge patch of the whole status: it is computed from scratch, so
		// there is nothing to lose to a concurrent spec change.
		base := stored.DeepCopy()
		stored.Status = status
		if err := r.Status().Patch(ctx, &stored, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, fmt.Errorf("update status of %s: %w", req, err)
		}
	}
	if o.applyErr != nil {
		log.Error(o.applyErr, "apply children")
		return ctrl.Result{}, o.applyErr
	}
	return ctrl.Result{RequeueAfter: soonest(recheckAfter(o.pods, o.now), healthRecheck(status))}, nil
}

func (r *MCPServerReconciler) applyChildren(ctx context.Context, s *v1beta1.MCPServer, tmpl *corev1.PodTemplateSpec, refs resolvedRefs) error {
	for _, obj := range desiredObjects(s, tmpl, r.ProxyImage, refs, r.NetworkPolicy) {
		if err := r.applied.apply(ctx, r.Client, client.ObjectKeyFromObject(s), obj); err != nil {
			return err
		}
	}
	var errs []error
	for _, obj := range unwantedObjects(s, tmpl, r.NetworkPolicy) {
		errs = append(errs, r.applied.deleteIfOwned(ctx, r.Client, s, obj))
	}
	return errors.Join(errs...)
}

// observe reads the workloads and their pods from the cache.
func (r *MCPServerReconciler) observe(ctx context.Context, s *v1beta1.MCPServer, o *observation) error {
	var dep appsv1.Deployment
	switch err := r.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: naming.ProxyDeploymentName(s.Name)}, &dep); {
	case err == nil:
		o.proxy = &dep
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("get proxy deployment: %w", err)
	}
	var sts appsv1.StatefulSet
	switch err := r.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: naming.BackendStatefulSetName(s.Name)}, &sts); {
	case err == nil:
		o.backend = &sts
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("get backend statefulset: %w", err)
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(s.Namespace), serverPods(s)); err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	o.pods = pods.Items
	return nil
}

// recordTransition emits an event when the phase or its reason changes, so
// kubectl describe tells the server's story.
func (r *MCPServerReconciler) recordTransition(s *v1beta1.MCPServer, next v1beta1.MCPServerStatus) {
	prev := readyReason(s.Status)
	now := readyReason(next)
	if s.Status.Phase == next.Phase && prev == now {
		return
	}
	key := fmt.Sprintf("%d/%s/%s", s.Generation, next.Phase, now)
	if last, ok := r.recorded.Load(s.UID); ok && last == key {
		return
	}
	r.recorded.Store(s.UID, key)
	kind := corev1.EventTypeNormal
	if warns(next.Phase, now) {
		kind = corev1.EventTypeWarning
	}
	r.Recorder.Eventf(s, nil, kind, now, string(next.Phase), "%s: %s", next.Phase, next.Message)
}

// warns tells the transitions a user has to act on (a Warning event) from
// the ones that pass by themselves: some of the first are only Pending.
func warns(phase v1beta1.MCPServerPhase, reason string) bool {
	switch reason {
	case v1beta1.ReasonSecretMissing, v1beta1.ReasonSecretKeyMissing, v1beta1.ReasonConfigRefMissing, v1beta1.ReasonConfigRefInvalid,
		v1beta1.ReasonContainerConfigError, v1beta1.ReasonUnschedulable, v1beta1.ReasonMCPNotAnswered:
		return true
	}
	return phase == v1beta1.PhaseFailed
}

// recordStorageWarning emits a Warning event when SessionStorageWarning
// turns True, once per generation: several proxy replicas that can lose a
// client's session.
func (r *MCPServerReconciler) recordStorageWarning(s *v1beta1.MCPServer, next v1beta1.MCPServerStatus) {
	c := meta.FindStatusCondition(next.Conditions, v1beta1.ConditionSessionStorageWarning)
	if c == nil || c.Status != metav1.ConditionTrue || meta.IsStatusConditionTrue(s.Status.Conditions, v1beta1.ConditionSessionStorageWarning) {
		return
	}
	key := fmt.Sprintf("%s/storage", s.UID)
	if last, ok := r.recorded.Load(key); ok && last == s.Generation {
		return
	}
	r.recorded.Store(key, s.Generation)
	r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, c.Reason, v1beta1.ConditionSessionStorageWarning, "%s", c.Message)
}

// recordTelemetryWarning emits a Warning event when TelemetryConfigRefValidated
// turns False or changes its words: nothing else tells of telemetry lost
// while the server stays Ready.
func (r *MCPServerReconciler) recordTelemetryWarning(s *v1beta1.MCPServer, next v1beta1.MCPServerStatus) {
	c := meta.FindStatusCondition(next.Conditions, v1beta1.ConditionTelemetryConfigRefValidated)
	if c == nil || c.Status != metav1.ConditionFalse {
		return
	}
	if prev := meta.FindStatusCondition(s.Status.Conditions, c.Type); prev != nil && prev.Status == c.Status && prev.Message == c.Message {
		return
	}
	key := fmt.Sprintf("%s/telemetry", s.UID)
	if last, ok := r.recorded.Load(key); ok && last == c.Message {
		return
	}
	r.recorded.Store(key, c.Message)
	r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, c.Reason, c.Type, "%s", c.Message)
}

func readyReason(st v1beta1.MCPServerStatus) string {
	for _, c := range st.Conditions {
		if c.Type == v1beta1.ConditionReady {
			return c.Reason
		}
	}
	return ""
}

// SetupWithManager watches MCPServers, their children, their pods and the
// objects they reference.
func (r *MCPServerReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := indexReferences(context.Background(), mgr.GetFieldIndexer()); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1beta1.MCPServer{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, restartAnnotationsChanged))).
		Owns(&appsv1.Deployment{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&corev1.ConfigMap{}, builder.OnlyMetadata).
		Owns(&networkingv1.NetworkPolicy{}).
		Watches(&corev1.Pod{}, podToServer()).
		WatchesMetadata(&corev1.Secret{}, r.referencingDirectlyOrThroughConfigs(indexSecrets, v1beta1.ReferenceSecret)).
		WatchesMetadata(&corev1.ConfigMap{}, r.referencingDirectlyOrThroughConfigs(indexConfigMaps, v1beta1.ReferenceConfigMap)).
		Watches(&v1beta1.MCPToolConfig{}, r.referencing(indexToolConfigs)).
		Watches(&v1beta1.MCPOIDCConfig{}, r.referencing(indexOIDCConfigs)).
		Watches(&v1beta1.MCPAuthzConfig{}, r.referencing(indexAuthzConfigs)).
		Watches(&v1beta1.MCPTelemetryConfig{}, r.referencing(indexTelemetryConfigs)).
		Named("mcpserver").
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: r.MaxConcurrentReconciles}).
		Complete(r)
}
