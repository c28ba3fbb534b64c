package proxyconfig

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// RateLimit is how many tool calls the proxy lets through (ToolHive's
// spec.rateLimiting): token buckets kept in Redis, shared by every proxy
// replica. A call must find a token in each bucket that applies to it:
// the server's (Shared, PerUser) and its tool's.
type RateLimit struct {
	// Shared is one bucket for every caller of the server.
	Shared *Bucket `json:"shared,omitempty"`
	// PerUser is a bucket for each authenticated caller (by subject);
	// unauthenticated calls pass it.
	PerUser *Bucket `json:"perUser,omitempty"`
	// Tools are the buckets of single tools, by the name clients call.
	Tools []ToolRateLimit `json:"tools,omitempty"`
}

// ToolRateLimit is the buckets of calls to one tool.
type ToolRateLimit struct {
	// Name is the tool's name as clients call it.
	Name    string  `json:"name"`
	Shared  *Bucket `json:"shared,omitempty"`
	PerUser *Bucket `json:"perUser,omitempty"`
}

// Bucket is a token bucket: it holds at most MaxTokens (the burst) and
// refills at MaxTokens per RefillPeriod.
type Bucket struct {
	MaxTokens    int32    `json:"maxTokens"`
	RefillPeriod Duration `json:"refillPeriod"`
}

// Duration is a time.Duration written as Go writes it ("1m0s") in JSON.
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"1m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

const flagRateLimit = "rate-limit"

// Validate refuses buckets that cannot refill and tools without a name.
func (r *RateLimit) Validate() error {
	if r == nil {
		return nil
	}
	check := func(where string, b *Bucket) error {
		switch {
		case b == nil:
			return nil
		case b.MaxTokens < 1:
			return fmt.Errorf("--%s: %s maxTokens is %d: give at least 1", flagRateLimit, where, b.MaxTokens)
		case b.RefillPeriod <= 0:
			return fmt.Errorf("--%s: %s refillPeriod is %s: give a positive duration", flagRateLimit, where, time.Duration(b.RefillPeriod))
		}
		return nil
	}
	errs := []error{check("shared", r.Shared), check("perUser", r.PerUser)}
	for i, t := range r.Tools {
		if t.Name == "" {
			errs = append(errs, fmt.Errorf("--%s: tools[%d] has no name", flagRateLimit, i))
		}
		errs = append(errs, check(fmt.Sprintf("tool %q shared", t.Name), t.Shared), check(fmt.Sprintf("tool %q perUser", t.Name), t.PerUser))
	}
	return errors.Join(errs...)
}

// args renders r as its one flag of compact JSON; nothing when nil.
func (r *RateLimit) args() []string {
	if r == nil {
		return nil
	}
	b, _ := json.Marshal(r) // every field marshals
	return []string{"--" + flagRateLimit + "=" + string(b)}
}

// rateLimitVar binds --rate-limit to *r.
func rateLimitVar(fs *flag.FlagSet, r **RateLimit) {
	fs.Func(flagRateLimit, `token buckets of tool calls, in Redis (needs --redis-address), as JSON: {"shared":{"maxTokens":100,"refillPeriod":"1m"},"perUser":{...},"tools":[{"name":"echo","shared":{...},"perUser":{...}}]}`, func(s string) error {
		var v RateLimit
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("--%s: %w", flagRateLimit, err)
		}
		*r = &v
		return nil
	})
}
