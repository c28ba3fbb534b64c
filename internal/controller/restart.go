package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
)

// Restart strategies of naming.RestartStrategyAnnotation (ToolHive's).
const (
	restartRolling   = "rolling"
	restartImmediate = "immediate"
)

// reasonInvalidRestart is the reason of the Warning event on a restart
// annotation that cannot be followed as written.
const reasonInvalidRestart = "InvalidRestartAnnotation"

// restartRequest is what the MCPServer's restart annotations ask for.
type restartRequest struct {
	// at is the restarted-at value; "" when there is none to follow.
	at string
	// immediate: delete the pods once, rather than roll the workloads.
	immediate bool
	// processed: the operator has handled this value (or a later one).
	processed bool
	// problem says, in words, what in the annotations cannot be followed.
	problem string
}

// restartRequested reads the restart annotations as ToolHive does: a
// restarted-at that is not an RFC 3339 time asks for nothing, and an
// unknown strategy is taken as rolling.
func restartRequested(s *v1beta1.MCPServer) restartRequest {
	at := s.Annotations[naming.RestartedAtAnnotation]
	if at == "" {
		return restartRequest{}
	}
	when, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return restartRequest{problem: fmt.Sprintf("annotation %s: %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z; nothing restarts",
			naming.RestartedAtAnnotation, at)}
	}
	r := restartRequest{at: at}
	if last, err := time.Parse(time.RFC3339, s.Annotations[naming.LastProcessedRestartAnnotation]); err == nil {
		r.processed = !when.After(last)
	}
	switch strategy, ok := s.Annotations[naming.RestartStrategyAnnotation]; {
	case !ok || strategy == restartRolling:
	case strategy == restartImmediate:
		r.immediate = true
	default:
		r.problem = fmt.Sprintf("annotation %s: %q is neither %s nor %s; restarting %s, as ToolHive does",
			naming.RestartStrategyAnnotation, strategy, restartRolling, restartImmediate, restartRolling)
	}
	return r
}

// rollingRestartAnnotations are put on both workloads' pod templates: a new
// restarted-at value rolls them, and applying the same one again does
// nothing.
func rollingRestartAnnotations(s *v1beta1.MCPServer) map[string]string {
	r := restartRequested(s)
	if r.at == "" || r.immediate {
		return nil
	}
	return map[string]string{naming.RestartedAtAnnotation: r.at}
}

// handleRestart warns of restart annotations that cannot be followed and,
// for an immediate restart not yet handled, deletes the server's proxy and
// backend pods. Either restart is then recorded on the MCPServer in
// last-processed-restart, as ToolHive does.
func (r *MCPServerReconciler) handleRestart(ctx context.Context, s *v1beta1.MCPServer) error {
	req := restartRequested(s)
	if req.problem != "" {
		r.warnOnce(s, "restart", reasonInvalidRestart, "Restart", req.problem)
	}
	if req.at == "" || req.processed {
		return nil
	}
	// The cache may not show yet that an earlier reconcile handled this
	// value (a pod event can overtake the MCPServer's): ask the API server
	// before deleting pods a second time.
	var fresh v1beta1.MCPServer
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(s), &fresh); err != nil {
		return fmt.Errorf("get MCPServer to restart: %w", err)
	}
	if req = restartRequested(&fresh); req.at == "" || req.processed {
		return nil
	}
	s = &fresh
	if req.immediate {
		// Uncached: a pod the cache has not seen yet restarts too.
		var pods corev1.PodList
		if err := r.APIReader.List(ctx, &pods, client.InNamespace(s.Namespace), serverPods(s)); err != nil {
			return fmt.Errorf("list pods to restart: %w", err)
		}
		for i := range pods.Items {
			if err := r.Delete(ctx, &pods.Items[i]); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete pod %s to restart: %w", pods.Items[i].Name, err)
			}
		}
		logf.FromContext(ctx).Info("restarted immediately", "restartedAt", req.at, "podsDeleted", len(pods.Items))
	}
	base := s.DeepCopy()
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[naming.LastProcessedRestartAnnotation] = req.at
	if err := r.Patch(ctx, s, client.MergeFrom(base)); err != nil {
		return fmt.Errorf("record restart %s: %w", req.at, err)
	}
	return nil
}

// warnOnce emits a Warning event with note, unless the last one of this
// kind for s said the same.
func (r *MCPServerReconciler) warnOnce(s *v1beta1.MCPServer, kind, reason, action, note string) {
	key := fmt.Sprintf("%s/%s", s.UID, kind)
	if last, ok := r.recorded.Load(key); ok && last == note {
		return
	}
	r.recorded.Store(key, note)
	r.Recorder.Eventf(s, nil, corev1.EventTypeWarning, reason, action, "%s", note)
}

// serverPods selects the pods of both components of s.
func serverPods(s *v1beta1.MCPServer) client.MatchingLabels {
	return client.MatchingLabels{naming.LabelName: naming.AppName, naming.LabelInstance: s.Name}
}

// restartAnnotationsChanged passes an MCPServer update that changes what
// its restart annotations ask for: annotations leave the generation alone.
var restartAnnotationsChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	was, is := e.ObjectOld.GetAnnotations(), e.ObjectNew.GetAnnotations()
	return was[naming.RestartedAtAnnotation] != is[naming.RestartedAtAnnotation] ||
		was[naming.RestartStrategyAnnotation] != is[naming.RestartStrategyAnnotation]
}}
