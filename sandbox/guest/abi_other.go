//go:build !wasip1

package guest

// Outside the sandbox there is no host: every call reports ErrNoHost, so
// tool code still compiles (and its pure parts can be tested) natively.

func hostLog(Level, string) {}

func hostNowMillis() int64 { return 0 }

func hostWorkspaceRead([]byte) ([]byte, error) { return nil, ErrNoHost }
func hostHTTP([]byte) ([]byte, error)          { return nil, ErrNoHost }
func hostToolInvoke([]byte) ([]byte, error)    { return nil, ErrNoHost }

func hostSecretExists(string) bool { return false }
