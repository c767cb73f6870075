// Package memory is the home of what Hearth remembers. Its sub-packages
// hold the store backends that implement engine.Store (memory/sqlite, the
// embedded default; a PostgreSQL backend follows) and the conformance
// suite every backend passes (memory/storetest). The workspace, chunking
// and hybrid search of the memory issue live here too.
package memory
