// Package sandboxtest holds test helpers for the sandbox and the tools in
// tools-src: a fake internet that serves real host names (with TLS from
// a throw-away CA) on loopback, in-memory secret and audit stores, and a
// cached builder of Go wasm modules. It is imported only by tests.
package sandboxtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/sandbox/httpgate"
)

// FakeInternet serves handlers under real host names. Each name resolves
// to a public-looking address of 203.0.113.0/24 (TEST-NET-3); the dialer
// connects those addresses to local servers: port 443 to a TLS server
// whose certificate, signed by the fake's CA, names every host, and port
// 80 to a plain server. A name can instead be made to resolve to any
// address (127.0.0.1 for rebinding tests) with Resolve.
type FakeInternet struct {
	t       testing.TB
	caPool  *x509.CertPool
	caKey   *ecdsa.PrivateKey
	caCert  *x509.Certificate
	mu      sync.Mutex
	hosts   map[string]netip.Addr // name -> resolved address
	servers map[netip.Addr]*hostServers
	next    byte
	// Lookups counts resolutions per name.
	lookups map[string]int
}

type hostServers struct {
	tls   *httptest.Server
	plain *httptest.Server
}

// NewFakeInternet returns an empty fake internet, closed at test cleanup.
func NewFakeInternet(t testing.TB) *FakeInternet {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Hearth test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &FakeInternet{t: t, caPool: pool, caKey: key, caCert: ca,
		hosts: map[string]netip.Addr{}, servers: map[netip.Addr]*hostServers{}, next: 10, lookups: map[string]int{}}
}

// Serve makes handler answer for the given host names, over HTTPS on 443
// and HTTP on 80. It returns the address the names resolve to.
func (f *FakeInternet) Serve(handler http.Handler, hosts ...string) netip.Addr {
	f.t.Helper()
	f.mu.Lock()
	addr := netip.AddrFrom4([4]byte{203, 0, 113, f.next})
	f.next++
	f.mu.Unlock()

	cert := f.leaf(hosts)
	ts := httptest.NewUnstartedServer(handler)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.StartTLS()
	ps := httptest.NewServer(handler)
	f.t.Cleanup(ts.Close)
	f.t.Cleanup(ps.Close)

	f.mu.Lock()
	defer f.mu.Unlock()
	f.servers[addr] = &hostServers{tls: ts, plain: ps}
	for _, h := range hosts {
		f.hosts[strings.ToLower(h)] = addr
	}
	return addr
}

// Resolve makes name resolve to addr (which need not be served).
func (f *FakeInternet) Resolve(name string, addr netip.Addr) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hosts[strings.ToLower(name)] = addr
}

// Lookups reports how many times name was resolved.
func (f *FakeInternet) Lookups(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lookups[strings.ToLower(name)]
}

func (f *FakeInternet) leaf(hosts []string) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.caCert, &key.PublicKey, f.caKey)
	if err != nil {
		f.t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// LookupNetIP implements httpgate.Resolver.
func (f *FakeInternet) LookupNetIP(_ context.Context, _ string, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	host = strings.ToLower(host)
	f.lookups[host]++
	if a, ok := f.hosts[host]; ok {
		return []netip.Addr{a}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// Dial implements httpgate.DialFunc: fake public addresses go to their
// local servers; loopback addresses are dialled for real (to reach test
// servers when an endpoint allows private addresses); anything else
// fails as unreachable.
func (f *FakeInternet) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, fmt.Errorf("fake internet: dial of a name %q (the gate must dial addresses)", host)
	}
	var d net.Dialer
	if ip.IsLoopback() {
		return d.DialContext(ctx, network, address)
	}
	f.mu.Lock()
	s, ok := f.servers[ip]
	f.mu.Unlock()
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("no route to %s", address)}
	}
	target := s.plain.Listener.Addr().String()
	if port == "443" {
		target = s.tls.Listener.Addr().String()
	}
	return d.DialContext(ctx, network, target)
}

// GateOptions returns gate options wired to the fake internet.
func (f *FakeInternet) GateOptions() httpgate.Options {
	return httpgate.Options{Resolver: f, Dial: f.Dial, RootCAs: f.caPool}
}

// Client returns an HTTP client that reaches the fake internet directly
// (for test code, not for tools).
func (f *FakeInternet) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := f.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			return f.Dial(ctx, network, net.JoinHostPort(ips[0].String(), port))
		},
		TLSClientConfig: &tls.Config{RootCAs: f.caPool},
	}}
}
