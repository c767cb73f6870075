package channelkit

import (
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strings"
)

// IsLoopbackHost reports whether host (no port) names only this machine:
// "localhost" or a loopback IP. The empty host (":8080") means every
// interface and is not loopback.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// CheckJSONContentType accepts a request's Content-Type header when it is
// application/json (any parameters) or absent; otherwise it names what
// was sent.
func CheckJSONContentType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("Content-Type must be application/json, got %q", ct)
	}
	return nil
}

// WriteJSON answers with status and v encoded as JSON, marked not to be
// cached.
func WriteJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}
