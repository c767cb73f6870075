package httpgate

import "net/netip"

// specialPrefixes are address ranges a tool may never reach unless its
// endpoint says allow_private, beyond what netip's predicates cover.
var specialPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("100::/64"), "discard"},
}

// Embedded-IPv4 IPv6 ranges: the IPv4 address inside is checked too.
var (
	nat64   = netip.MustParsePrefix("64:ff9b::/96")
	nat64l  = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFo = netip.MustParsePrefix("2002::/16")
)

// ForbiddenAddr reports whether a tool may not connect to addr without
// allow_private, and why: loopback, private, link-local (including cloud
// metadata at 169.254.169.254), unspecified, multicast, and reserved
// ranges, seen through IPv4-mapped, NAT64 and 6to4 forms.
func ForbiddenAddr(addr netip.Addr) (string, bool) {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "an invalid address", true
	case addr.IsUnspecified():
		return "the unspecified address", true
	case addr.IsLoopback():
		return "a loopback address", true
	case addr.IsPrivate():
		return "a private address", true
	case addr.IsLinkLocalUnicast(), addr.IsLinkLocalMulticast():
		return "a link-local address", true
	case addr.IsMulticast(), addr.IsInterfaceLocalMulticast():
		return "a multicast address", true
	}
	for _, p := range specialPrefixes {
		if p.prefix.Contains(addr) {
			return "a " + p.why + " address", true
		}
	}
	if addr.Is6() {
		b := addr.As16()
		var inner netip.Addr
		switch {
		case nat64.Contains(addr):
			inner = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case nat64l.Contains(addr):
			inner = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixToFo.Contains(addr):
			inner = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
		if inner.IsValid() {
			if why, bad := ForbiddenAddr(inner); bad {
				return why + " (embedded in IPv6)", true
			}
		}
	}
	return "", false
}
