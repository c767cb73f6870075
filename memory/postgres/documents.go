package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

// The memory tables (migration 00004): documents and kept versions here,
// chunks and the embedding space in chunks.go, searches in search.go.

var _ engine.MemoryStore = (*Store)(nil)

const (
	documentCols     = `d.user_id, d.path, d.content, d.size, d.version, d.indexed_version, d.created_at, d.updated_at`
	documentInfoCols = `d.user_id, d.path, '', d.size, d.version, d.indexed_version, d.created_at, d.updated_at`
	versionInfoCols  = `d.user_id, d.path, v.version, '', v.size, v.created_at, v.replaced_at`
	versionCols      = `d.user_id, d.path, v.version, v.content, v.size, v.created_at, v.replaced_at`
)

func docKey(op, userID, path string) error {
	if userID == "" || path == "" {
		return fmt.Errorf("postgres: %s document: user id and path are required, got %q/%q", op, userID, path)
	}
	return nil
}

// WriteDocument creates, overwrites or appends to a document in one
// transaction that holds the document's row lock, so that concurrent
// appends, from any process, all land; see engine.DocumentStore.
func (s *Store) WriteDocument(ctx context.Context, w engine.DocumentWrite) (engine.Document, error) {
	if err := docKey("write", w.UserID, w.Path); err != nil {
		return engine.Document{}, err
	}
	switch {
	case w.Mode != engine.WriteOverwrite && w.Mode != engine.WriteCreate && w.Mode != engine.WriteAppend:
		return engine.Document{}, fmt.Errorf("postgres: write document %q: unknown mode %d", w.Path, w.Mode)
	case w.IfVersion < 0 || w.MaxSize < 0 || w.KeepVersions < 0:
		return engine.Document{}, fmt.Errorf("postgres: write document %q: IfVersion, MaxSize and KeepVersions must not be negative", w.Path)
	}
	at := s.stamp(w.At)
	var out engine.Document
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Two rounds at most: a document another transaction creates
		// between our lookup and our insert is then locked and changed.
		for range 2 {
			var id int64
			cur, err := scanDocument(tx.QueryRow(ctx, `SELECT d.id, `+documentCols+` FROM documents d
				WHERE d.user_id = $1 AND d.path = $2 FOR UPDATE`, w.UserID, w.Path), &id)
			if errors.Is(err, pgx.ErrNoRows) {
				var created bool
				out, created, err = s.createDocument(ctx, tx, w, at)
				if err != nil || created {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			out, err = changeDocument(ctx, tx, w, id, cur, at)
			return err
		}
		return errors.New("the document keeps disappearing and reappearing")
	})
	if err != nil {
		return engine.Document{}, fmt.Errorf("postgres: %s document %q of %q: %w", w.Mode, w.Path, w.UserID, s.poolErr(err))
	}
	return out, nil
}

// createDocument inserts a new document unless another transaction
// created it first (then it returns false, having written nothing).
func (s *Store) createDocument(ctx context.Context, tx pgx.Tx, w engine.DocumentWrite, at time.Time) (engine.Document, bool, error) {
	if w.IfVersion > 0 {
		return engine.Document{}, false, fmt.Errorf("expected version %d: %w", w.IfVersion, engine.ErrNotFound)
	}
	if w.MaxSize > 0 && len(w.Content) > w.MaxSize {
		return engine.Document{}, false, fmt.Errorf("%d bytes, limit %d: %w", len(w.Content), w.MaxSize, engine.ErrTooLarge)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO documents (user_id, path, content, size, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT (user_id, path) DO NOTHING`,
		w.UserID, w.Path, w.Content, len(w.Content), at)
	if err != nil {
		return engine.Document{}, false, missingRef(err)
	}
	if tag.RowsAffected() == 0 {
		return engine.Document{}, false, nil
	}
	return engine.Document{UserID: w.UserID, Path: w.Path, Content: w.Content, Size: int64(len(w.Content)),
		Version: 1, CreatedAt: at, UpdatedAt: at}, true, nil
}

// changeDocument overwrites or appends to the locked document id.
func changeDocument(ctx context.Context, tx pgx.Tx, w engine.DocumentWrite, id int64, cur engine.Document, at time.Time) (engine.Document, error) {
	if w.Mode == engine.WriteCreate {
		return engine.Document{}, fmt.Errorf("exists: %w", engine.ErrConflict)
	}
	if w.IfVersion > 0 && w.IfVersion != cur.Version {
		return engine.Document{}, fmt.Errorf("version is %d, expected %d: %w", cur.Version, w.IfVersion, engine.ErrConflict)
	}
	content := w.Content
	if w.Mode == engine.WriteAppend {
		content = cur.Content + w.Content
	}
	if content == cur.Content {
		return cur, nil
	}
	if w.MaxSize > 0 && len(content) > w.MaxSize {
		return engine.Document{}, fmt.Errorf("%d bytes, limit %d: %w", len(content), w.MaxSize, engine.ErrTooLarge)
	}
	b := &pgx.Batch{}
	if w.Mode == engine.WriteOverwrite {
		b.Queue(`INSERT INTO document_versions (doc_id, version, content, size, created_at, replaced_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, cur.Version, cur.Content, cur.Size, cur.UpdatedAt, at)
		if w.KeepVersions > 0 {
			b.Queue(`DELETE FROM document_versions WHERE doc_id = $1 AND version <= (
				SELECT version FROM document_versions WHERE doc_id = $1
				ORDER BY version DESC OFFSET $2 LIMIT 1)`, id, w.KeepVersions)
		}
	}
	b.Queue(`UPDATE documents SET content = $1, size = $2, version = version + 1, updated_at = $3 WHERE id = $4`,
		content, len(content), at, id)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return engine.Document{}, err
	}
	out := cur
	out.Content, out.Size, out.Version, out.UpdatedAt = content, int64(len(content)), cur.Version+1, at
	return out, nil
}

// GetDocument returns a document with its content; ErrNotFound when
// missing.
func (s *Store) GetDocument(ctx context.Context, userID, path string) (engine.Document, error) {
	if err := docKey("get", userID, path); err != nil {
		return engine.Document{}, err
	}
	if err := s.check(ctx); err != nil {
		return engine.Document{}, err
	}
	d, err := scanDocument(s.pool.QueryRow(ctx, `SELECT `+documentCols+` FROM documents d
		WHERE d.user_id = $1 AND d.path = $2`, userID, path), nil)
	if err != nil {
		return d, fmt.Errorf("postgres: get document %q of %q: %w", path, userID, s.poolErr(noRows(err)))
	}
	return d, nil
}

// DeleteDocument removes a document with its chunks and kept versions;
// ErrNotFound when missing.
func (s *Store) DeleteDocument(ctx context.Context, userID, path string) error {
	if err := docKey("delete", userID, path); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM documents WHERE user_id = $1 AND path = $2`, userID, path)
	if err != nil {
		return fmt.Errorf("postgres: delete document %q of %q: %w", path, userID, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delete document %q of %q: %w", path, userID, engine.ErrNotFound)
	}
	return nil
}

// ListDocuments lists a user's documents under prefix (byte-wise), by
// path in byte order, without content.
func (s *Store) ListDocuments(ctx context.Context, userID, prefix string) ([]engine.Document, error) {
	if userID == "" {
		return nil, errors.New("postgres: list documents: user id is empty")
	}
	out, err := queryAll(ctx, s, scanDocumentInfo, `SELECT `+documentInfoCols+` FROM documents d
		WHERE d.user_id = $1 AND ($2 = '' OR starts_with(d.path, $2)) ORDER BY d.path`, userID, prefix)
	if err != nil {
		return nil, fmt.Errorf("postgres: list documents of %q: %w", userID, err)
	}
	return out, nil
}

// ListVersions lists the kept versions of a path, newest first, without
// content.
func (s *Store) ListVersions(ctx context.Context, userID, path string) ([]engine.DocumentVersion, error) {
	if err := docKey("list versions of", userID, path); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, s, scanVersion, `SELECT `+versionInfoCols+` FROM documents d
		JOIN document_versions v ON v.doc_id = d.id
		WHERE d.user_id = $1 AND d.path = $2 ORDER BY v.version DESC`, userID, path)
	if err != nil {
		return nil, fmt.Errorf("postgres: list versions of %q of %q: %w", path, userID, err)
	}
	return out, nil
}

// GetVersion returns one kept version with its content.
func (s *Store) GetVersion(ctx context.Context, userID, path string, version int64) (engine.DocumentVersion, error) {
	if err := docKey("get version of", userID, path); err != nil {
		return engine.DocumentVersion{}, err
	}
	if err := s.check(ctx); err != nil {
		return engine.DocumentVersion{}, err
	}
	v, err := scanVersion(s.pool.QueryRow(ctx, `SELECT `+versionCols+` FROM documents d
		JOIN document_versions v ON v.doc_id = d.id
		WHERE d.user_id = $1 AND d.path = $2 AND v.version = $3`, userID, path, version))
	if err != nil {
		return v, fmt.Errorf("postgres: version %d of %q of %q: %w", version, path, userID, s.poolErr(noRows(err)))
	}
	return v, nil
}

// DocumentsToIndex lists documents whose chunks are behind their content,
// oldest change first.
func (s *Store) DocumentsToIndex(ctx context.Context, userID string, limit int) ([]engine.Document, error) {
	if userID == "" || limit <= 0 {
		return nil, fmt.Errorf("postgres: documents to index: need a user id and a positive limit, got %q/%d", userID, limit)
	}
	out, err := queryAll(ctx, s, scanDocumentInfo, `SELECT `+documentInfoCols+` FROM documents d
		WHERE d.user_id = $1 AND d.indexed_version <> d.version ORDER BY d.updated_at, d.id LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: documents to index of %q: %w", userID, err)
	}
	return out, nil
}

// scanDocument reads documentCols (or documentInfoCols), preceded by the
// row id when id is not nil.
func scanDocument(r pgx.Row, id *int64) (engine.Document, error) {
	var d engine.Document
	var created, updated time.Time
	dst := []any{&d.UserID, &d.Path, &d.Content, &d.Size, &d.Version, &d.IndexedVersion, &created, &updated}
	if id != nil {
		dst = append([]any{id}, dst...)
	}
	if err := r.Scan(dst...); err != nil {
		return engine.Document{}, err
	}
	d.CreatedAt, d.UpdatedAt = created.UTC(), updated.UTC()
	return d, nil
}

func scanDocumentInfo(r pgx.Row) (engine.Document, error) { return scanDocument(r, nil) }

func scanVersion(r pgx.Row) (engine.DocumentVersion, error) {
	var v engine.DocumentVersion
	var created, replaced time.Time
	if err := r.Scan(&v.UserID, &v.Path, &v.Version, &v.Content, &v.Size, &created, &replaced); err != nil {
		return engine.DocumentVersion{}, err
	}
	v.CreatedAt, v.ReplacedAt = created.UTC(), replaced.UTC()
	return v, nil
}
