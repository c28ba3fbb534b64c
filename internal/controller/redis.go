package controller

import (
	"path"

	corev1 "k8s.io/api/core/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
	"github.com/switchboard-mcp/switchboard/internal/naming"
	"github.com/switchboard-mcp/switchboard/internal/proxyconfig"
)

// redisCAFile is the file name of the Redis CA in naming.RedisCADir.
const redisCAFile = "ca.crt"

// withRedis tells the proxy how to reach the server's Redis when it uses
// one: for session routing (sse and streamable-http servers) and for the
// rate-limit buckets (any transport).
func withRedis(s *v1beta1.MCPServer, c *proxyconfig.Config) {
	if s.Spec.SharesSessionsThroughRedis() {
		c.SessionStorage = string(v1beta1.SessionStorageRedis)
	}
	if !s.Spec.ConnectsToRedis() {
		return
	}
	ss := s.Spec.SessionStorage
	c.RedisAddress, c.RedisDB, c.RedisKeyPrefix = ss.Address, ss.DB, ss.KeyPrefix
	if t := ss.TLS; t != nil {
		c.RedisTLS = proxyconfig.RedisTLS{Enabled: true, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CACertSecretRef != nil {
			c.RedisTLS.CAFile = path.Join(naming.RedisCADir, redisCAFile)
		}
	}
	c.RateLimit = rateLimit(s.Spec.RateLimiting)
}

// redisCAVolume mounts the Secret key of the Redis CA read-only where
// --redis-tls-ca-file points; nil when the proxy trusts the system roots.
func redisCAVolume(s *v1beta1.MCPServer) ([]corev1.Volume, []corev1.VolumeMount) {
	if !s.Spec.ConnectsToRedis() || s.Spec.SessionStorage.TLS == nil || s.Spec.SessionStorage.TLS.CACertSecretRef == nil {
		return nil, nil
	}
	ref := s.Spec.SessionStorage.TLS.CACertSecretRef
	volume := corev1.Volume{Name: naming.RedisCAVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: ref.Name,
		Items:      []corev1.KeyToPath{{Key: ref.Key, Path: redisCAFile}},
	}}}
	mount := corev1.VolumeMount{Name: naming.RedisCAVolume, MountPath: naming.RedisCADir, ReadOnly: true}
	return []corev1.Volume{volume}, []corev1.VolumeMount{mount}
}

// rateLimit is spec.rateLimiting as the proxy reads it.
func rateLimit(rl *v1beta1.RateLimitConfig) *proxyconfig.RateLimit {
	if rl == nil {
		return nil
	}
	bucket := func(b *v1beta1.RateLimitBucket) *proxyconfig.Bucket {
		if b == nil {
			return nil
		}
		return &proxyconfig.Bucket{MaxTokens: b.MaxTokens, RefillPeriod: proxyconfig.Duration(b.RefillPeriod.Duration)}
	}
	out := &proxyconfig.RateLimit{Shared: bucket(rl.Shared), PerUser: bucket(rl.PerUser)}
	for _, t := range rl.Tools {
		out.Tools = append(out.Tools, proxyconfig.ToolRateLimit{Name: t.Name, Shared: bucket(t.Shared), PerUser: bucket(t.PerUser)})
	}
	return out
}
