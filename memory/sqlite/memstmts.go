package sqlite

import "database/sql"

// Column lists of the memory tables.
const (
	documentCols = `d.user_id, d.path, d.content, d.size, d.version,
		d.indexed_version, d.created_at, d.updated_at`
	documentInfoCols = `d.user_id, d.path, '', d.size, d.version,
		d.indexed_version, d.created_at, d.updated_at`
	versionInfoCols = `d.user_id, d.path, v.version, '', v.size, v.created_at, v.replaced_at`
	versionCols     = `d.user_id, d.path, v.version, v.content, v.size, v.created_at, v.replaced_at`
	chunkCols       = `c.id, c.user_id, d.path, c.seq, c.heading, c.text, c.start_off, c.end_off, c.hash, d.updated_at`
)

// memWriteStmts are the memory statements of the writer connection.
type memWriteStmts struct {
	docForWrite, insertDoc, updateDoc, insertVersion, pruneVersions  *sql.Stmt
	deleteDoc, docChunkIDs, deleteDocChunks, insertChunk, setIndexed *sql.Stmt
	insertVector, queueEmbed, setEmbedding, unqueueEmbed             *sql.Stmt
	oldChunks, deleteChunk, upsertVector, deleteVector               *sql.Stmt
	clearEmbeddings, queueAllEmbeds, bumpUserGen, getSpace, setSpace *sql.Stmt
	putCache, insertFTS                                              *sql.Stmt
}

func (m *memWriteStmts) defs() []stmtDef {
	return []stmtDef{
		{&m.docForWrite, `SELECT d.id, ` + documentCols + ` FROM documents d WHERE d.user_id = ? AND d.path = ?`},
		{&m.insertDoc, `INSERT INTO documents (user_id, path, content, size, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, 1, ?, ?)`},
		{&m.updateDoc, `UPDATE documents SET content = ?, size = ?, version = version + 1, updated_at = ?
			WHERE id = ?`},
		{&m.insertVersion, `INSERT INTO document_versions (doc_id, version, content, size, created_at, replaced_at)
			VALUES (?, ?, ?, ?, ?, ?)`},
		{&m.pruneVersions, `DELETE FROM document_versions WHERE doc_id = ?1 AND version NOT IN
			(SELECT version FROM document_versions WHERE doc_id = ?1 ORDER BY version DESC LIMIT ?2)`},
		{&m.deleteDoc, `DELETE FROM documents WHERE id = ?`},
		{&m.docChunkIDs, `SELECT id FROM chunks WHERE doc_id = ?`},
		{&m.deleteDocChunks, `DELETE FROM chunks WHERE doc_id = ?`},
		{&m.deleteChunk, `DELETE FROM chunks WHERE id = ?`},
		{&m.oldChunks, `SELECT c.id, c.seq, c.heading, c.text, c.start_off, c.end_off, c.hash, v.embedding
			FROM chunks c LEFT JOIN chunk_vectors v ON v.chunk_id = c.id WHERE c.doc_id = ?`},
		{&m.insertChunk, `INSERT INTO chunks (doc_id, user_id, seq, heading, text, start_off, end_off, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`},
		// ftsOwner computes the owner token the same way.
		{&m.insertFTS, `INSERT INTO chunks_fts (rowid, owner, heading, text) VALUES (?, 'u' || hex(?), ?, ?)`},
		{&m.setIndexed, `UPDATE documents SET indexed_version = ? WHERE id = ?`},
		{&m.insertVector, `INSERT INTO chunk_vectors (chunk_id, user_id, embedding) VALUES (?, ?, ?)`},
		{&m.upsertVector, `INSERT INTO chunk_vectors (chunk_id, user_id, embedding) VALUES (?, ?, ?)
			ON CONFLICT (chunk_id) DO UPDATE SET embedding = excluded.embedding`},
		{&m.deleteVector, `DELETE FROM chunk_vectors WHERE chunk_id = ?`},
		{&m.queueEmbed, `INSERT INTO chunks_to_embed (chunk_id, user_id) VALUES (?, ?)`},
		// Sets the vector of chunk ?1 when it is the user's (no row otherwise).
		{&m.setEmbedding, `INSERT INTO chunk_vectors (chunk_id, user_id, embedding)
			SELECT id, user_id, ?3 FROM chunks WHERE id = ?1 AND user_id = ?2
			ON CONFLICT (chunk_id) DO UPDATE SET embedding = excluded.embedding`},
		{&m.unqueueEmbed, `DELETE FROM chunks_to_embed WHERE chunk_id = ?`},
		{&m.clearEmbeddings, `DELETE FROM chunk_vectors`},
		{&m.queueAllEmbeds, `INSERT OR IGNORE INTO chunks_to_embed (chunk_id, user_id) SELECT id, user_id FROM chunks`},
		{&m.bumpUserGen, `INSERT INTO vector_generations (user_id, generation, chunks) VALUES (?1, 1, ?2)
			ON CONFLICT (user_id) DO UPDATE SET generation = generation + 1, chunks = chunks + ?2
			RETURNING generation`},
		{&m.getSpace, `SELECT model, dims, generation FROM embedding_space WHERE id = 1`},
		{&m.setSpace, `UPDATE embedding_space SET model = ?, dims = ?, generation = generation + 1
			WHERE id = 1 RETURNING generation`},
		{&m.putCache, `INSERT INTO embedding_cache (model, dims, hash, vector, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (model, dims, hash) DO UPDATE SET vector = excluded.vector, created_at = excluded.created_at`},
	}
}

// memReadStmts are the memory statements of the query-only pool.
type memReadStmts struct {
	getDoc, listDocs, listVersions, getVersion, docsToIndex *sql.Stmt
	getChunks, chunksToEmbed, getSpace, generations         *sql.Stmt
	loadVectors, vectorsByID, idsUnder, fts, ftsUnder       *sql.Stmt
	ftsTop, ftsNewest, chunkRows                            *sql.Stmt
	statsUser, statsAll, getCache, termDocs, idRange        *sql.Stmt
	userChunks                                              *sql.Stmt
}

// pathPrefix matches d.path against the prefix parameter ?N byte-wise
// (” matches everything). substr and length count characters of valid
// UTF-8, which gives the same answer.
func pathPrefix(n string) string {
	return `(?` + n + ` = '' OR substr(d.path, 1, length(?` + n + `)) = ?` + n + `)`
}

func (m *memReadStmts) defs() []stmtDef {
	return []stmtDef{
		{&m.getDoc, `SELECT ` + documentCols + ` FROM documents d WHERE d.user_id = ? AND d.path = ?`},
		{&m.listDocs, `SELECT ` + documentInfoCols + ` FROM documents d WHERE d.user_id = ?1 AND ` +
			pathPrefix("2") + ` ORDER BY d.path`},
		{&m.listVersions, `SELECT ` + versionInfoCols + ` FROM documents d JOIN document_versions v ON v.doc_id = d.id
			WHERE d.user_id = ? AND d.path = ? ORDER BY v.version DESC`},
		{&m.getVersion, `SELECT ` + versionCols + ` FROM documents d JOIN document_versions v ON v.doc_id = d.id
			WHERE d.user_id = ? AND d.path = ? AND v.version = ?`},
		{&m.docsToIndex, `SELECT ` + documentInfoCols + ` FROM documents d INDEXED BY documents_to_index
			WHERE d.user_id = ? AND d.indexed_version <> d.version ORDER BY d.updated_at, d.id LIMIT ?`},

		{&m.getChunks, `SELECT ` + chunkCols + `, v.embedding FROM documents d JOIN chunks c ON c.doc_id = d.id
			LEFT JOIN chunk_vectors v ON v.chunk_id = c.id
			WHERE d.user_id = ? AND d.path = ? ORDER BY c.seq`},
		{&m.chunksToEmbed, `SELECT ` + chunkCols + ` FROM chunks_to_embed q INDEXED BY chunks_to_embed_user
			JOIN chunks c ON c.id = q.chunk_id JOIN documents d ON d.id = c.doc_id
			WHERE q.user_id = ? ORDER BY q.chunk_id LIMIT ?`},
		{&m.getSpace, `SELECT model, dims, generation FROM embedding_space WHERE id = 1`},
		{&m.generations, `SELECT s.model, s.dims, s.generation,
			COALESCE((SELECT g.generation FROM vector_generations g WHERE g.user_id = ?), 0)
			FROM embedding_space s WHERE s.id = 1`},
		{&m.loadVectors, `SELECT chunk_id, embedding FROM chunk_vectors INDEXED BY chunk_vectors_user
			WHERE user_id = ?`},
		// Each id is looked up by primary key and the user checked on the
		// row (+ keeps the planner from seeking the user index first,
		// which costs a second seek per id).
		{&m.vectorsByID, `SELECT chunk_id, embedding FROM chunk_vectors
			WHERE chunk_id IN (SELECT value FROM json_each(?1)) AND +user_id = ?2`},
		{&m.idsUnder, `SELECT c.id FROM documents d JOIN chunks c ON c.doc_id = d.id
			WHERE d.user_id = ?1 AND ` + pathPrefix("2")},
		// The best ?3 matches by rank (BM25, see the migration) among the
		// chunks from id ?4 on, in the FTS table alone, then their rows;
		// user_id is checked again.
		{&m.fts, `SELECT ` + chunkCols + `, -f.rank AS score
			FROM (SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?1 AND rowid >= ?4
				ORDER BY rank LIMIT ?3) f
			JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.doc_id
			WHERE c.user_id = ?2
			ORDER BY score DESC, c.id`},
		// The best ?3 matches of every user (the first try of a search,
		// which needs no owner term; see search.go).
		{&m.ftsTop, `SELECT rowid, rank FROM chunks_fts WHERE chunks_fts MATCH ?1 AND rowid >= ?2
			ORDER BY rank LIMIT ?3`},
		{&m.ftsNewest, `SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2`},
		{&m.chunkRows, `SELECT ` + chunkCols + ` FROM chunks c JOIN documents d ON d.id = c.doc_id
			WHERE c.id IN (SELECT value FROM json_each(?1)) AND c.user_id = ?2`},
		// With a path prefix the filter must come before the limit.
		{&m.ftsUnder, `SELECT ` + chunkCols + `, -f.rank AS score
			FROM chunks_fts f JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.doc_id
			WHERE chunks_fts MATCH ?1 AND c.user_id = ?2 AND ` + pathPrefix("4") + `
			ORDER BY f.rank, c.id LIMIT ?3`},

		{&m.statsUser, `SELECT
			(SELECT COUNT(*) FROM documents WHERE user_id = ?1),
			(SELECT COUNT(*) FROM documents WHERE user_id = ?1 AND indexed_version <> version),
			(SELECT COUNT(*) FROM document_versions v JOIN documents d ON d.id = v.doc_id WHERE d.user_id = ?1),
			(SELECT COUNT(*) FROM chunks WHERE user_id = ?1),
			(SELECT COUNT(*) FROM chunk_vectors WHERE user_id = ?1),
			(SELECT COALESCE(SUM(size), 0) FROM documents WHERE user_id = ?1)`},
		{&m.statsAll, `SELECT
			(SELECT COUNT(*) FROM documents),
			(SELECT COUNT(*) FROM documents WHERE indexed_version <> version),
			(SELECT COUNT(*) FROM document_versions),
			(SELECT COUNT(*) FROM chunks),
			(SELECT COUNT(*) FROM chunk_vectors),
			(SELECT COALESCE(SUM(size), 0) FROM documents)`},
		// Two seeks (one MIN and one MAX in one SELECT would scan).
		{&m.idRange, `SELECT
			COALESCE((SELECT id FROM chunks INDEXED BY chunks_user WHERE user_id = ?1 ORDER BY id LIMIT 1), 0),
			COALESCE((SELECT id FROM chunks INDEXED BY chunks_user WHERE user_id = ?1 ORDER BY id DESC LIMIT 1), 0)`},
		{&m.userChunks, `SELECT COALESCE((SELECT chunks FROM vector_generations WHERE user_id = ?), 0)`},
		// Matches of one word, counted up to ?2 (a bounded read of its
		// posting list, where fts5vocab would read all of it).
		{&m.termDocs, `SELECT count(*) FROM (SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1 LIMIT ?2)`},
		{&m.getCache, `SELECT hash, vector FROM embedding_cache
			WHERE model = ?1 AND dims = ?2 AND hash IN (SELECT value FROM json_each(?3))`},
	}
}
