package sandbox

import (
	"fmt"
	"time"

	"github.com/hearthbot/hearth/sandbox/caps"
)

// Limits bound one execution of a tool.
type Limits struct {
	// MemoryPages caps the guest's linear memory (64 KiB pages).
	MemoryPages uint32
	// Timeout is the wall-clock deadline of a call; a guest still running
	// is stopped.
	Timeout time.Duration
	// MaxOutputBytes caps the output the guest returns.
	MaxOutputBytes int
	// MaxHTTPRequests and MaxToolInvocations cap host calls per execution
	// (redirects count as requests).
	MaxHTTPRequests    int
	MaxToolInvocations int
	// MaxLogBytes caps what the guest may log (log import plus stdout and
	// stderr); past it the guest is stopped.
	MaxLogBytes int
	// MaxResponseBytes caps an HTTP response body (cut beyond it, with
	// Truncated set) and a workspace document.
	MaxResponseBytes int
	// MaxRequestBytes caps an HTTP request body.
	MaxRequestBytes int
}

const pageSize = 64 << 10

// DefaultLimits are the limits of a tool whose capabilities set none.
func DefaultLimits() Limits {
	return Limits{
		MemoryPages:        1024, // 64 MiB
		Timeout:            15 * time.Second,
		MaxOutputBytes:     256 << 10,
		MaxHTTPRequests:    8,
		MaxToolInvocations: 4,
		MaxLogBytes:        64 << 10,
		MaxResponseBytes:   1 << 20,
		MaxRequestBytes:    256 << 10,
	}
}

// MaximumLimits are the most a capabilities file may ask for.
func MaximumLimits() Limits {
	return Limits{
		MemoryPages:        4096, // 256 MiB
		Timeout:            2 * time.Minute,
		MaxOutputBytes:     4 << 20,
		MaxHTTPRequests:    64,
		MaxToolInvocations: 16,
		MaxLogBytes:        1 << 20,
		MaxResponseBytes:   16 << 20,
		MaxRequestBytes:    4 << 20,
	}
}

// fillZero replaces zero fields of l by d's.
func (l Limits) fillZero(d Limits) Limits {
	if l.MemoryPages == 0 {
		l.MemoryPages = d.MemoryPages
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxOutputBytes == 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxHTTPRequests == 0 {
		l.MaxHTTPRequests = d.MaxHTTPRequests
	}
	if l.MaxToolInvocations == 0 {
		l.MaxToolInvocations = d.MaxToolInvocations
	}
	if l.MaxLogBytes == 0 {
		l.MaxLogBytes = d.MaxLogBytes
	}
	if l.MaxResponseBytes == 0 {
		l.MaxResponseBytes = d.MaxResponseBytes
	}
	if l.MaxRequestBytes == 0 {
		l.MaxRequestBytes = d.MaxRequestBytes
	}
	return l
}

// withOverrides applies a capabilities file's limits to the defaults,
// refusing any value above the host maximum.
func (l Limits) withOverrides(o *caps.Limits, max Limits) (Limits, error) {
	if o == nil {
		return l, nil
	}
	check := func(name string, v, maxV int64) error {
		if v > maxV {
			return fmt.Errorf("%w: limits.%s: %d exceeds the host maximum %d", caps.ErrInvalid, name, v, maxV)
		}
		return nil
	}
	type field struct {
		name string
		v    int
		max  int64
		set  func()
	}
	fields := []field{
		{"memory_mib", o.MemoryMiB, int64(max.MemoryPages) * pageSize >> 20, func() { l.MemoryPages = uint32(o.MemoryMiB) * (1 << 20 / pageSize) }},
		{"timeout_ms", o.TimeoutMS, max.Timeout.Milliseconds(), func() { l.Timeout = time.Duration(o.TimeoutMS) * time.Millisecond }},
		{"max_output_bytes", o.MaxOutputBytes, int64(max.MaxOutputBytes), func() { l.MaxOutputBytes = o.MaxOutputBytes }},
		{"max_http_requests", o.MaxHTTPRequests, int64(max.MaxHTTPRequests), func() { l.MaxHTTPRequests = o.MaxHTTPRequests }},
		{"max_tool_invocations", o.MaxToolInvocations, int64(max.MaxToolInvocations), func() { l.MaxToolInvocations = o.MaxToolInvocations }},
		{"max_log_bytes", o.MaxLogBytes, int64(max.MaxLogBytes), func() { l.MaxLogBytes = o.MaxLogBytes }},
		{"max_response_bytes", o.MaxResponseBytes, int64(max.MaxResponseBytes), func() { l.MaxResponseBytes = o.MaxResponseBytes }},
		{"max_request_bytes", o.MaxRequestBytes, int64(max.MaxRequestBytes), func() { l.MaxRequestBytes = o.MaxRequestBytes }},
	}
	for _, f := range fields {
		if f.v == 0 {
			continue
		}
		if err := check(f.name, int64(f.v), f.max); err != nil {
			return Limits{}, err
		}
		f.set()
	}
	if o.MemoryMiB > 0 && o.MemoryMiB < 4 {
		return Limits{}, fmt.Errorf("%w: limits.memory_mib: %d is below the 4 MiB a Go module needs", caps.ErrInvalid, o.MemoryMiB)
	}
	return l, nil
}
