package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hearthbot/hearth/engine"
)

var _ engine.MemoryStore = (*Store)(nil)

func docKey(op, userID, path string) error {
	if userID == "" || path == "" {
		return fmt.Errorf("sqlite: %s document: user id and path are required, got %q/%q", op, userID, path)
	}
	return nil
}

// WriteDocument creates, overwrites or appends to a document in one
// transaction; see engine.DocumentStore.
func (s *Store) WriteDocument(ctx context.Context, w engine.DocumentWrite) (engine.Document, error) {
	if err := docKey("write", w.UserID, w.Path); err != nil {
		return engine.Document{}, err
	}
	switch {
	case w.Mode != engine.WriteOverwrite && w.Mode != engine.WriteCreate && w.Mode != engine.WriteAppend:
		return engine.Document{}, fmt.Errorf("sqlite: write document %q: unknown mode %d", w.Path, w.Mode)
	case w.IfVersion < 0 || w.MaxSize < 0 || w.KeepVersions < 0:
		return engine.Document{}, fmt.Errorf("sqlite: write document %q: IfVersion, MaxSize and KeepVersions must not be negative", w.Path)
	}
	at := s.stamp(w.At)
	var out engine.Document
	err := s.tx(ctx, func(ctx context.Context) error {
		var id int64
		cur, err := scanDocument(s.w.mem.docForWrite.QueryRowContext(ctx, w.UserID, w.Path), &id)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !exists {
			if w.IfVersion > 0 {
				return fmt.Errorf("expected version %d: %w", w.IfVersion, engine.ErrNotFound)
			}
			if w.MaxSize > 0 && len(w.Content) > w.MaxSize {
				return fmt.Errorf("%d bytes, limit %d: %w", len(w.Content), w.MaxSize, engine.ErrTooLarge)
			}
			_, err := s.w.mem.insertDoc.ExecContext(ctx, w.UserID, w.Path, w.Content, len(w.Content), micros(at), micros(at))
			if isForeignKeyViolation(err) {
				return fmt.Errorf("user %q: %w", w.UserID, engine.ErrNotFound)
			}
			if err != nil {
				return err
			}
			out = engine.Document{UserID: w.UserID, Path: w.Path, Content: w.Content, Size: int64(len(w.Content)),
				Version: 1, CreatedAt: fromMicros(micros(at)), UpdatedAt: fromMicros(micros(at))}
			return nil
		}
		if w.Mode == engine.WriteCreate {
			return fmt.Errorf("exists: %w", engine.ErrConflict)
		}
		if w.IfVersion > 0 && w.IfVersion != cur.Version {
			return fmt.Errorf("version is %d, expected %d: %w", cur.Version, w.IfVersion, engine.ErrConflict)
		}
		content := w.Content
		if w.Mode == engine.WriteAppend {
			content = cur.Content + w.Content
		}
		if content == cur.Content {
			out = cur
			return nil
		}
		if w.MaxSize > 0 && len(content) > w.MaxSize {
			return fmt.Errorf("%d bytes, limit %d: %w", len(content), w.MaxSize, engine.ErrTooLarge)
		}
		if w.Mode == engine.WriteOverwrite {
			if _, err := s.w.mem.insertVersion.ExecContext(ctx, id, cur.Version, cur.Content, cur.Size,
				micros(cur.UpdatedAt), micros(at)); err != nil {
				return err
			}
			if w.KeepVersions > 0 {
				if _, err := s.w.mem.pruneVersions.ExecContext(ctx, id, w.KeepVersions); err != nil {
					return err
				}
			}
		}
		if _, err := s.w.mem.updateDoc.ExecContext(ctx, content, len(content), micros(at), id); err != nil {
			return err
		}
		out = cur
		out.Content, out.Size, out.Version, out.UpdatedAt = content, int64(len(content)), cur.Version+1, fromMicros(micros(at))
		return nil
	})
	if err != nil {
		return engine.Document{}, fmt.Errorf("sqlite: %s document %q of %q: %w", w.Mode, w.Path, w.UserID, err)
	}
	return out, nil
}

// GetDocument returns a document with its content; ErrNotFound when
// missing.
func (s *Store) GetDocument(ctx context.Context, userID, path string) (engine.Document, error) {
	if err := docKey("get", userID, path); err != nil {
		return engine.Document{}, err
	}
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.Document{}, err
	}
	d, err := scanDocument(s.r.mem.getDoc.QueryRowContext(ctx, userID, path), nil)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("sqlite: get document %q of %q: %w", path, userID, engine.ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("sqlite: get document %q of %q: %w", path, userID, err)
	}
	return d, nil
}

// DeleteDocument removes a document with its chunks and kept versions;
// ErrNotFound when missing.
func (s *Store) DeleteDocument(ctx context.Context, userID, path string) error {
	if err := docKey("delete", userID, path); err != nil {
		return err
	}
	var removed []int64
	var gen int64
	err := s.txThen(ctx, func(ctx context.Context) error {
		var id int64
		_, err := scanDocument(s.w.mem.docForWrite.QueryRowContext(ctx, userID, path), &id)
		if errors.Is(err, sql.ErrNoRows) {
			return engine.ErrNotFound
		}
		if err != nil {
			return err
		}
		if removed, err = s.chunkIDs(ctx, id); err != nil {
			return err
		}
		if _, err := s.w.mem.deleteDoc.ExecContext(ctx, id); err != nil {
			return err
		}
		return s.w.mem.bumpUserGen.QueryRowContext(ctx, userID, -len(removed)).Scan(&gen)
	}, func() { s.vec.apply(userID, gen, removed, nil) })
	if err != nil {
		return fmt.Errorf("sqlite: delete document %q of %q: %w", path, userID, err)
	}
	return nil
}

// ListDocuments lists a user's documents under prefix, by path, without
// content.
func (s *Store) ListDocuments(ctx context.Context, userID, prefix string) ([]engine.Document, error) {
	if userID == "" {
		return nil, errors.New("sqlite: list documents: user id is empty")
	}
	out, err := queryAll(ctx, s, s.r.mem.listDocs, func(r scanner) (engine.Document, error) {
		return scanDocument(r, nil)
	}, userID, prefix)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list documents of %q: %w", userID, err)
	}
	return out, nil
}

// ListVersions lists the kept versions of a path, newest first, without
// content.
func (s *Store) ListVersions(ctx context.Context, userID, path string) ([]engine.DocumentVersion, error) {
	if err := docKey("list versions of", userID, path); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, s, s.r.mem.listVersions, scanVersion, userID, path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list versions of %q of %q: %w", path, userID, err)
	}
	return out, nil
}

// GetVersion returns one kept version with its content.
func (s *Store) GetVersion(ctx context.Context, userID, path string, version int64) (engine.DocumentVersion, error) {
	if err := docKey("get version of", userID, path); err != nil {
		return engine.DocumentVersion{}, err
	}
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.DocumentVersion{}, err
	}
	v, err := scanVersion(s.r.mem.getVersion.QueryRowContext(ctx, userID, path, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("sqlite: version %d of %q of %q: %w", version, path, userID, engine.ErrNotFound)
	}
	if err != nil {
		return v, fmt.Errorf("sqlite: version %d of %q of %q: %w", version, path, userID, err)
	}
	return v, nil
}

// DocumentsToIndex lists documents whose chunks are behind their content,
// oldest change first.
func (s *Store) DocumentsToIndex(ctx context.Context, userID string, limit int) ([]engine.Document, error) {
	if userID == "" || limit <= 0 {
		return nil, fmt.Errorf("sqlite: documents to index: need a user id and a positive limit, got %q/%d", userID, limit)
	}
	out, err := queryAll(ctx, s, s.r.mem.docsToIndex, func(r scanner) (engine.Document, error) {
		return scanDocument(r, nil)
	}, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: documents to index of %q: %w", userID, err)
	}
	return out, nil
}

// chunkIDs lists a document's chunk ids inside a write transaction.
func (s *Store) chunkIDs(ctx context.Context, docID int64) ([]int64, error) {
	rows, err := s.w.mem.docChunkIDs.QueryContext(ctx, docID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// txThen is tx with an action run after a successful commit while the
// writer is still held, so that after-commit actions (updating the
// in-memory vector indexes) happen in commit order.
func (s *Store) txThen(ctx context.Context, fn func(context.Context) error, then func()) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	bg := context.Background()
	if _, err := s.w.begin.ExecContext(bg); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	err := fn(bg)
	if err == nil {
		if _, err = s.w.commit.ExecContext(bg); err == nil {
			then()
			return nil
		}
		err = fmt.Errorf("commit: %w", err)
	}
	if _, rerr := s.w.rollback.ExecContext(bg); rerr != nil && !isNoTransaction(rerr) {
		s.log.Error("sqlite rollback failed", "err", rerr)
	}
	return err
}

// scanDocument reads documentCols (or documentInfoCols), preceded by the
// row id when id is not nil.
func scanDocument(r scanner, id *int64) (engine.Document, error) {
	var d engine.Document
	var created, updated int64
	dst := []any{&d.UserID, &d.Path, &d.Content, &d.Size, &d.Version, &d.IndexedVersion, &created, &updated}
	if id != nil {
		dst = append([]any{id}, dst...)
	}
	if err := r.Scan(dst...); err != nil {
		return engine.Document{}, err
	}
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}

func scanVersion(r scanner) (engine.DocumentVersion, error) {
	var v engine.DocumentVersion
	var created, replaced int64
	if err := r.Scan(&v.UserID, &v.Path, &v.Version, &v.Content, &v.Size, &created, &replaced); err != nil {
		return engine.DocumentVersion{}, err
	}
	v.CreatedAt, v.ReplacedAt = fromMicros(created), fromMicros(replaced)
	return v, nil
}
