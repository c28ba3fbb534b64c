package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// redisArgs are the proxy arguments about Redis and rate limits.
func redisArgs(args []string) []string {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "--redis") || strings.HasPrefix(a, "--session-storage") || strings.HasPrefix(a, "--rate-limit") {
			out = append(out, a)
		}
	}
	return out
}

func TestProxyReachesRedisForSessionsAndRateLimits(t *testing.T) {
	redis := func(tls *v1beta1.RedisTLSConfig) func(*v1beta1.MCPServer) {
		return func(s *v1beta1.MCPServer) {
			s.Spec.SessionStorage = &v1beta1.SessionStorage{Provider: v1beta1.SessionStorageRedis, Address: "[fd00::7]:6380", DB: 2, KeyPrefix: "osv:",
				PasswordRef: &v1beta1.SecretKeyRef{Name: "redis", Key: "password"}, TLS: tls}
		}
	}
	limits := func(s *v1beta1.MCPServer) {
		s.Spec.RateLimiting = &v1beta1.RateLimitConfig{
			Shared: &v1beta1.RateLimitBucket{MaxTokens: 100, RefillPeriod: metav1.Duration{Duration: time.Minute}},
			Tools: []v1beta1.ToolRateLimitConfig{{Name: "query_vulnerability",
				PerUser: &v1beta1.RateLimitBucket{MaxTokens: 5, RefillPeriod: metav1.Duration{Duration: 30 * time.Second}}}},
		}
	}
	withCA := &v1beta1.RedisTLSConfig{CACertSecretRef: &v1beta1.SecretKeyRef{Name: "redis-tls", Key: "ca.pem"}}
	passwordEnv := corev1.EnvVar{Name: "SWITCHBOARD_REDIS_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "redis"}, Key: "password"}}}
	caVolume := corev1.Volume{Name: "redis-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: "redis-tls", Items: []corev1.KeyToPath{{Key: "ca.pem", Path: "ca.crt"}}}}}
	caMount := corev1.VolumeMount{Name: "redis-ca", MountPath: "/config/certs/redis", ReadOnly: true}
	for _, tc := range []struct {
		name     string
		server   *v1beta1.MCPServer
		args     []string
		password bool
		volumes  []corev1.Volume
		mounts   []corev1.VolumeMount
	}{
		{
			name:   "a stdio server without rate limits is given no Redis",
			server: newServer(redis(nil)),
			args:   []string{"--session-storage=memory"},
		},
		{
			name:     "a stdio server with rate limits reaches Redis for its buckets, not for sessions",
			server:   newServer(redis(nil), limits),
			args:     []string{"--session-storage=memory", "--redis-address=[fd00::7]:6380", "--redis-db=2", "--redis-key-prefix=osv:", `--rate-limit={"shared":{"maxTokens":100,"refillPeriod":"1m0s"},"tools":[{"name":"query_vulnerability","perUser":{"maxTokens":5,"refillPeriod":"30s"}}]}`},
			password: true,
		},
		{
			name:     "an HTTP server routes sessions over TLS, verified against the CA Secret mounted read-only",
			server:   newServer(withTransport(v1beta1.TransportStreamableHTTP), redis(withCA)),
			args:     []string{"--session-storage=redis", "--redis-address=[fd00::7]:6380", "--redis-db=2", "--redis-key-prefix=osv:", "--redis-tls=true", "--redis-tls-ca-file=/config/certs/redis/ca.crt"},
			password: true,
			volumes:  []corev1.Volume{caVolume},
			mounts:   []corev1.VolumeMount{caMount},
		},
		{
			name:     "TLS without verification mounts nothing",
			server:   newServer(withTransport(v1beta1.TransportSSE), redis(&v1beta1.RedisTLSConfig{InsecureSkipVerify: true})),
			args:     []string{"--session-storage=redis", "--redis-address=[fd00::7]:6380", "--redis-db=2", "--redis-key-prefix=osv:", "--redis-tls=true", "--redis-tls-insecure-skip-verify=true"},
			password: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := buildProxyDeployment(tc.server, nil, "proxy:test", resolvedRefs{})
			c := d.Spec.Template.Spec.Containers[0]
			if diff := cmp.Diff(tc.args, redisArgs(c.Args)); diff != "" {
				t.Errorf("Redis args (-want +got):\n%s", diff)
			}
			if got := slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return cmp.Equal(e, passwordEnv) }); got != tc.password {
				t.Errorf("password env from the Secret: %v, want %v; env %v", got, tc.password, c.Env)
			}
			if diff := cmp.Diff(tc.volumes, d.Spec.Template.Spec.Volumes); diff != "" {
				t.Errorf("volumes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.mounts, c.VolumeMounts); diff != "" {
				t.Errorf("mounts (-want +got):\n%s", diff)
			}
		})
	}
}
