package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// WASI errno values used here.
const (
	errnoSuccess     = 0
	errnoBadf        = 8
	errnoFault       = 21
	errnoInval       = 28
	errnoNosys       = 52
	errnoNotcapable  = 76
	wasiClockReal    = 0
	wasiClockMono    = 1
	fdStdin          = 0
	fdStdout         = 1
	fdStderr         = 2
	filetypeCharDev  = 2
	rightFdRead      = 1 << 1
	rightFdWrite     = 1 << 6
	subscriptionSize = 48
	eventSize        = 32
)

// wasiSignatures lists every WASI preview 1 function with its core type,
// so that any module built against the full interface instantiates; the
// ones the host does not grant answer with an error.
var wasiSignatures = map[string]signature{
	"args_get":                {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"args_sizes_get":          {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"environ_get":             {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"environ_sizes_get":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"clock_res_get":           {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"clock_time_get":          {[]api.ValueType{i32, i64, i32}, []api.ValueType{i32}},
	"fd_advise":               {[]api.ValueType{i32, i64, i64, i32}, []api.ValueType{i32}},
	"fd_allocate":             {[]api.ValueType{i32, i64, i64}, []api.ValueType{i32}},
	"fd_close":                {[]api.ValueType{i32}, []api.ValueType{i32}},
	"fd_datasync":             {[]api.ValueType{i32}, []api.ValueType{i32}},
	"fd_fdstat_get":           {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"fd_fdstat_set_flags":     {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"fd_fdstat_set_rights":    {[]api.ValueType{i32, i64, i64}, []api.ValueType{i32}},
	"fd_filestat_get":         {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"fd_filestat_set_size":    {[]api.ValueType{i32, i64}, []api.ValueType{i32}},
	"fd_filestat_set_times":   {[]api.ValueType{i32, i64, i64, i32}, []api.ValueType{i32}},
	"fd_pread":                {[]api.ValueType{i32, i32, i32, i64, i32}, []api.ValueType{i32}},
	"fd_prestat_get":          {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"fd_prestat_dir_name":     {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"fd_pwrite":               {[]api.ValueType{i32, i32, i32, i64, i32}, []api.ValueType{i32}},
	"fd_read":                 {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	"fd_readdir":              {[]api.ValueType{i32, i32, i32, i64, i32}, []api.ValueType{i32}},
	"fd_renumber":             {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"fd_seek":                 {[]api.ValueType{i32, i64, i32, i32}, []api.ValueType{i32}},
	"fd_sync":                 {[]api.ValueType{i32}, []api.ValueType{i32}},
	"fd_tell":                 {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"fd_write":                {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	"path_create_directory":   {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"path_filestat_get":       {[]api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"path_filestat_set_times": {[]api.ValueType{i32, i32, i32, i32, i64, i64, i32}, []api.ValueType{i32}},
	"path_link":               {[]api.ValueType{i32, i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"path_open":               {[]api.ValueType{i32, i32, i32, i32, i32, i64, i64, i32, i32}, []api.ValueType{i32}},
	"path_readlink":           {[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"path_remove_directory":   {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"path_rename":             {[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"path_symlink":            {[]api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"path_unlink_file":        {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"poll_oneoff":             {[]api.ValueType{i32, i32, i32, i32}, []api.ValueType{i32}},
	"proc_exit":               {[]api.ValueType{i32}, nil},
	"proc_raise":              {[]api.ValueType{i32}, []api.ValueType{i32}},
	"sched_yield":             {nil, []api.ValueType{i32}},
	"random_get":              {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	"sock_accept":             {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
	"sock_recv":               {[]api.ValueType{i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"sock_send":               {[]api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}},
	"sock_shutdown":           {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
}

// wasiHost implements the granted part of WASI for one wazero runtime.
type wasiHost struct {
	now   func() time.Time
	start time.Time // origin of the monotonic clock
}

// instantiate registers every WASI function in rt: the granted ones with
// their implementation, the others as denials.
func (w *wasiHost) instantiate(ctx context.Context, rt wazero.Runtime) error {
	impl := map[string]api.GoModuleFunc{
		"args_get":            w.ok,
		"args_sizes_get":      w.zeroPair,
		"environ_get":         w.ok,
		"environ_sizes_get":   w.zeroPair,
		"clock_res_get":       w.clockRes,
		"clock_time_get":      w.clockTime,
		"fd_write":            w.fdWrite,
		"fd_read":             w.fdRead,
		"fd_close":            w.stdioOnly,
		"fd_fdstat_set_flags": w.stdioOnly,
		"fd_fdstat_get":       w.fdstat,
		"poll_oneoff":         w.pollOneoff,
		"sched_yield":         w.ok,
		"random_get":          w.random,
		"proc_exit":           w.procExit,
	}
	b := rt.NewHostModuleBuilder(WASIModule)
	for name, sig := range wasiSignatures {
		fn, granted := impl[name]
		if !granted {
			fn = deny(name)
		}
		b.NewFunctionBuilder().WithGoModuleFunction(fn, sig.params, sig.results).Export(name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// deny answers a WASI call the sandbox does not grant: file system and
// socket calls report "not capable", descriptor calls "bad descriptor".
// The attempt is counted for the audit log.
func deny(name string) api.GoModuleFunc {
	errno := uint64(errnoBadf)
	switch {
	case len(name) > 5 && name[:5] == "path_", len(name) > 5 && name[:5] == "sock_":
		errno = errnoNotcapable
	case name == "proc_raise":
		errno = errnoNosys
	}
	return func(ctx context.Context, _ api.Module, stack []uint64) {
		if ex := executionFrom(ctx); ex != nil {
			ex.noteDenied(name)
		}
		stack[0] = errno
	}
}

func (w *wasiHost) ok(_ context.Context, _ api.Module, stack []uint64) { stack[0] = errnoSuccess }

// zeroPair answers the *_sizes_get calls: no arguments, no environment.
func (w *wasiHost) zeroPair(_ context.Context, m api.Module, stack []uint64) {
	mem := m.Memory()
	if !mem.WriteUint32Le(uint32(stack[0]), 0) || !mem.WriteUint32Le(uint32(stack[1]), 0) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func (w *wasiHost) clockRes(_ context.Context, m api.Module, stack []uint64) {
	id := uint32(stack[0])
	if id != wasiClockReal && id != wasiClockMono {
		stack[0] = errnoInval
		return
	}
	if !m.Memory().WriteUint64Le(uint32(stack[1]), 1000) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func (w *wasiHost) clockTime(_ context.Context, m api.Module, stack []uint64) {
	var v int64
	switch uint32(stack[0]) {
	case wasiClockReal:
		v = w.now().UnixNano()
	case wasiClockMono:
		v = int64(time.Since(w.start))
	default:
		stack[0] = errnoInval
		return
	}
	if !m.Memory().WriteUint64Le(uint32(stack[2]), uint64(v)) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// fdWrite sends stdout and stderr to the execution's capped log.
func (w *wasiHost) fdWrite(ctx context.Context, m api.Module, stack []uint64) {
	fd, iovs, n, resultPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if fd != fdStdout && fd != fdStderr {
		if ex := executionFrom(ctx); ex != nil {
			ex.noteDenied("fd_write")
		}
		stack[0] = errnoBadf
		return
	}
	if n > 1024 { // IOV_MAX
		stack[0] = errnoInval
		return
	}
	mem := m.Memory()
	var total uint32
	ex := executionFrom(ctx)
	for i := uint32(0); i < n; i++ {
		vec, ok := mem.Read(iovs+8*i, 8)
		if !ok {
			stack[0] = errnoFault
			return
		}
		ptr, l := binary.LittleEndian.Uint32(vec), binary.LittleEndian.Uint32(vec[4:])
		if l == 0 {
			continue
		}
		buf, ok := mem.Read(ptr, l)
		if !ok {
			stack[0] = errnoFault
			return
		}
		if ex != nil {
			ex.output(ctx, fd, buf) // aborts the guest past the log cap
		}
		total += l
	}
	if !mem.WriteUint32Le(resultPtr, total) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// fdRead reads nothing from stdin (end of file) and refuses other fds.
func (w *wasiHost) fdRead(ctx context.Context, m api.Module, stack []uint64) {
	if uint32(stack[0]) != fdStdin {
		if ex := executionFrom(ctx); ex != nil {
			ex.noteDenied("fd_read")
		}
		stack[0] = errnoBadf
		return
	}
	if !m.Memory().WriteUint32Le(uint32(stack[3]), 0) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func (w *wasiHost) stdioOnly(_ context.Context, _ api.Module, stack []uint64) {
	if uint32(stack[0]) > fdStderr {
		stack[0] = errnoBadf
		return
	}
	stack[0] = errnoSuccess
}

// fdstat describes stdin as readable and stdout/stderr as writable
// character devices; there are no other descriptors (no preopens).
func (w *wasiHost) fdstat(_ context.Context, m api.Module, stack []uint64) {
	fd, ptr := uint32(stack[0]), uint32(stack[1])
	if fd > fdStderr {
		stack[0] = errnoBadf
		return
	}
	var st [24]byte
	st[0] = filetypeCharDev
	rights := uint64(rightFdWrite)
	if fd == fdStdin {
		rights = rightFdRead
	}
	binary.LittleEndian.PutUint64(st[8:], rights)
	if !m.Memory().Write(ptr, st[:]) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

// pollOneoff implements sleeping (clock subscriptions) bounded by the
// call's context; descriptor subscriptions fail at once with EBADF.
func (w *wasiHost) pollOneoff(ctx context.Context, m api.Module, stack []uint64) {
	in, out, nsubs, neventsPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2]), uint32(stack[3])
	if nsubs == 0 || nsubs > 1024 {
		stack[0] = errnoInval
		return
	}
	mem := m.Memory()
	subs, ok := mem.Read(in, nsubs*subscriptionSize)
	if !ok {
		stack[0] = errnoFault
		return
	}
	type event struct {
		userdata uint64
		errno    uint16
		typ      byte
	}
	var events []event
	var timers []event
	wait := time.Duration(-1)
	for i := uint32(0); i < nsubs; i++ {
		s := subs[i*subscriptionSize : (i+1)*subscriptionSize]
		userdata, tag := binary.LittleEndian.Uint64(s), s[8]
		switch tag {
		case 0: // clock
			timeout := int64(binary.LittleEndian.Uint64(s[24:]))
			if binary.LittleEndian.Uint16(s[40:])&1 != 0 { // absolute time
				switch binary.LittleEndian.Uint32(s[16:]) {
				case wasiClockReal:
					timeout -= w.now().UnixNano()
				default:
					timeout -= int64(time.Since(w.start))
				}
			}
			d := max(time.Duration(timeout), 0)
			if wait < 0 || d < wait {
				wait = d
			}
			timers = append(timers, event{userdata: userdata, typ: 0})
		default: // fd_read, fd_write: no descriptors to wait on
			events = append(events, event{userdata: userdata, errno: errnoBadf, typ: tag})
		}
	}
	if len(events) == 0 && wait >= 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		events = timers
	}
	for i, e := range events {
		var buf [eventSize]byte
		binary.LittleEndian.PutUint64(buf[0:], e.userdata)
		binary.LittleEndian.PutUint16(buf[8:], e.errno)
		buf[10] = e.typ
		if !mem.Write(out+uint32(i)*eventSize, buf[:]) {
			stack[0] = errnoFault
			return
		}
	}
	if !mem.WriteUint32Le(neventsPtr, uint32(len(events))) {
		stack[0] = errnoFault
		return
	}
	stack[0] = errnoSuccess
}

func (w *wasiHost) random(_ context.Context, m api.Module, stack []uint64) {
	buf, ok := m.Memory().Read(uint32(stack[0]), uint32(stack[1]))
	if !ok {
		stack[0] = errnoFault
		return
	}
	_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms
	stack[0] = errnoSuccess
}

// procExit ends the guest; the call that was running returns an exit
// error the runtime turns into a tool error.
func (w *wasiHost) procExit(ctx context.Context, m api.Module, stack []uint64) {
	code := uint32(stack[0])
	if ex := executionFrom(ctx); ex != nil {
		ex.exitCode = int(code)
		ex.exited = true
	}
	_ = m.CloseWithExitCode(ctx, code)
	panic(sys.NewExitError(code))
}
