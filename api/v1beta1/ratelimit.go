package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RateLimitConfig limits how fast clients may call the server, with token
// buckets kept in the session storage's Redis so that every proxy pod
// counts against the same buckets. A request must pass the server-level
// buckets and those of the tool it calls. At least one of shared, perUser
// or tools must be configured.
// +kubebuilder:validation:XValidation:rule="has(self.shared) || has(self.perUser) || (has(self.tools) && size(self.tools) > 0)",message="at least one of shared, perUser, or tools must be configured"
type RateLimitConfig struct {
	// Shared is one bucket for every caller of the server.
	// +optional
	Shared *RateLimitBucket `json:"shared,omitempty"`
	// PerUser is a bucket per authenticated caller (the token's subject).
	// Requires oidcConfigRef.
	// +optional
	PerUser *RateLimitBucket `json:"perUser,omitempty"`
	// Tools are extra limits on calls of one tool, by the name clients call.
	// +listType=map
	// +listMapKey=name
	// +optional
	Tools []ToolRateLimitConfig `json:"tools,omitempty"`
}

// RateLimitBucket is a token bucket: maxTokens calls at once, refilled to
// full over refillPeriod (maxTokens/refillPeriod calls per second).
type RateLimitBucket struct {
	// MaxTokens is the bucket's capacity: the burst of calls it admits.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:Minimum=1
	MaxTokens int32 `json:"maxTokens"`
	// RefillPeriod is how long an empty bucket takes to fill, e.g. "1m0s".
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Format=duration
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s')",message="refillPeriod must be a positive duration such as 30s or 1m"
	RefillPeriod metav1.Duration `json:"refillPeriod"`
}

// ToolRateLimitConfig limits the calls of one tool.
// +kubebuilder:validation:XValidation:rule="has(self.shared) || has(self.perUser)",message="at least one of shared or perUser must be configured"
type ToolRateLimitConfig struct {
	// Name is the tool's name as clients call it.
	// +kubebuilder:validation:Required
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Shared is one bucket for every caller of this tool.
	// +optional
	Shared *RateLimitBucket `json:"shared,omitempty"`
	// PerUser is a bucket per authenticated caller of this tool.
	// +optional
	PerUser *RateLimitBucket `json:"perUser,omitempty"`
}
