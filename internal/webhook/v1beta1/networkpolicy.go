package v1beta1

import (
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchboard-mcp/switchboard/api/v1beta1"
)

// networkPolicyOff: rules written while the policies are turned off.
const networkPolicyOff = "spec.networkPolicy.ingress and egress have no effect while spec.networkPolicy.enabled is false: " +
	"set enabled: true (or remove it) to create the NetworkPolicies"

// validateNetworkPolicy checks the peers and ports of spec.networkPolicy as
// the API server checks a NetworkPolicy's, naming the MCPServer's field.
// CEL has already checked that each peer is an ipBlock or selectors; CIDRs
// are checked here rather than with CEL's isCIDR, which only API servers
// from v1.31 know.
func validateNetworkPolicy(np *v1beta1.NetworkPolicyConfig, p *field.Path) field.ErrorList {
	if np == nil {
		return nil
	}
	var errs field.ErrorList
	if np.Ingress != nil {
		for i, peer := range np.Ingress.From {
			errs = append(errs, validatePeer(peer, p.Child("ingress", "from").Index(i))...)
		}
	}
	if np.Egress != nil {
		for i, rule := range np.Egress.Allow {
			rp := p.Child("egress", "allow").Index(i)
			for j, peer := range rule.To {
				errs = append(errs, validatePeer(peer, rp.Child("to").Index(j))...)
			}
			for j, port := range rule.Ports {
				errs = append(errs, validatePolicyPort(port, rp.Child("ports").Index(j))...)
			}
		}
	}
	return errs
}

// networkPolicyWarnings: rules that are written but not in force.
func networkPolicyWarnings(np *v1beta1.NetworkPolicyConfig) []string {
	if np != nil && np.Enabled != nil && !*np.Enabled && (np.Ingress != nil || np.Egress != nil) {
		return []string{networkPolicyOff}
	}
	return nil
}

func validatePeer(peer networkingv1.NetworkPolicyPeer, p *field.Path) field.ErrorList {
	errs := validateSelector(peer.PodSelector, p.Child("podSelector"))
	errs = append(errs, validateSelector(peer.NamespaceSelector, p.Child("namespaceSelector"))...)
	if b := peer.IPBlock; b != nil {
		errs = append(errs, validateIPBlock(b, p.Child("ipBlock"))...)
	}
	return errs
}

// validateSelector checks a label selector as the API server does, and
// says what to do.
func validateSelector(sel *metav1.LabelSelector, p *field.Path) field.ErrorList {
	if sel == nil {
		return nil
	}
	errs := metav1validation.ValidateLabelSelector(sel, metav1validation.LabelSelectorValidationOptions{}, p)
	for _, e := range errs {
		e.Detail += ": change the selector"
	}
	return errs
}

// validateIPBlock: cidr is a CIDR, and every except a CIDR strictly inside it.
func validateIPBlock(b *networkingv1.IPBlock, p *field.Path) field.ErrorList {
	_, cidr, err := net.ParseCIDR(b.CIDR)
	if err != nil {
		return field.ErrorList{field.Invalid(p.Child("cidr"), b.CIDR, "must be an address range in CIDR notation, such as 10.0.0.0/8, 203.0.113.7/32 or 2001:db8::/32")}
	}
	ones, bits := cidr.Mask.Size()
	var errs field.ErrorList
	for i, e := range b.Except {
		_, ex, err := net.ParseCIDR(e)
		if err != nil {
			errs = append(errs, field.Invalid(p.Child("except").Index(i), e, "must be an address range in CIDR notation, such as 10.1.0.0/16"))
			continue
		}
		exOnes, exBits := ex.Mask.Size()
		if exBits != bits || exOnes <= ones || !cidr.Contains(ex.IP) {
			errs = append(errs, field.Invalid(p.Child("except").Index(i), e,
				fmt.Sprintf("must be a range strictly inside cidr %s: an exception outside it excludes nothing", b.CIDR)))
		}
	}
	return errs
}

// validatePolicyPort: a known protocol; a port number or name; an endPort
// only after a port number, and not below it.
func validatePolicyPort(port networkingv1.NetworkPolicyPort, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if pr := port.Protocol; pr != nil {
		switch *pr {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			errs = append(errs, field.NotSupported(p.Child("protocol"), *pr, []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}))
		}
	}
	if port.Port == nil {
		if port.EndPort != nil {
			errs = append(errs, field.Required(p.Child("port"), "endPort ends a range that port starts: set port, or remove endPort"))
		}
		return errs
	}
	if port.Port.Type == intstr.String {
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(p.Child("port"), port.Port.StrVal, msg))
		}
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(p.Child("endPort"), *port.EndPort, "a range needs a port number, not a name: give port as a number, or remove endPort"))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port.IntVal)) {
		errs = append(errs, field.Invalid(p.Child("port"), port.Port.IntVal, msg))
	}
	if e := port.EndPort; e != nil {
		if *e < port.Port.IntVal || *e > 65535 {
			errs = append(errs, field.Invalid(p.Child("endPort"), *e, fmt.Sprintf("must be between port (%d) and 65535", port.Port.IntVal)))
		}
	}
	return errs
}
