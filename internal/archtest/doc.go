// Package archtest holds the test that enforces the import rules of
// docs/ARCHITECTURE.md: which of Hearth's packages may depend on which.
package archtest
