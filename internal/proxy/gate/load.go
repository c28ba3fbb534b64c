package gate

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// WatchConfigMap loads the access document from the ConfigMap ns/name now
// and whenever it changes, until ctx ends. It watches that one object (the
// proxy's Role allows no other), so a policy edit applies within a second
// or two, without a restart and without dropping sessions.
func (g *Gate) WatchConfigMap(ctx context.Context, client kubernetes.Interface, ns, name string) {
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "configmaps", ns, fields.OneTermEqualSelector("metadata.name", name))
	var last []byte
	load := func(obj any) {
		cm, ok := obj.(*corev1.ConfigMap)
		if !ok {
			return
		}
		data, ok := cm.Data[proxyconfig.AccessKey]
		if !ok {
			g.Close(fmt.Sprintf("ConfigMap %s/%s has no key %s", ns, name, proxyconfig.AccessKey))
			last = nil
			return
		}
		if bytes.Equal(last, []byte(data)) {
			return // a resync, or a change elsewhere in the object
		}
		last = []byte(data)
		g.Load(ctx, last)
	}
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    &corev1.ConfigMap{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    load,
			UpdateFunc: func(_, obj any) { load(obj) },
			DeleteFunc: func(any) {
				last = nil
				g.Close(fmt.Sprintf("ConfigMap %s/%s with the access rules was deleted; the operator re-creates it", ns, name))
			},
		},
	})
	go informer.Run(ctx.Done())
}

// WatchFile loads the access document from path now and whenever its
// content changes (checked every interval), until ctx ends: the same
// rules for a proxy run by hand.
func (g *Gate) WatchFile(ctx context.Context, path string, interval time.Duration) {
	var last []byte
	failed := false
	check := func() {
		data, err := os.ReadFile(path)
		if err != nil {
			if !failed {
				g.Close(fmt.Sprintf("cannot read the access file: %v", err))
			}
			last, failed = nil, true
			return
		}
		failed = false
		if bytes.Equal(data, last) {
			return
		}
		last = data
		g.Load(ctx, data)
	}
	check()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				check()
			}
		}
	}()
}
