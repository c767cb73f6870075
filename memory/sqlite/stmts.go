package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Column lists shared by the statements and the scanners that read them.
const (
	userCols     = `id, name, role, timezone, created_at`
	identityCols = `channel, platform_id, user_id, display_name, created_at`
	pairingCols  = `code, channel, platform_id, display_name, conversation, status, user_id, created_at, expires_at`
	sessionCols  = `id, user_id, address_key, channel, conversation, thread, reply_to, is_group, active,
		model, summary, summary_through, created_at, updated_at`
	inboxCols = `id, channel, message_id, conversation, thread, sender_id, sender_name, direct, mentioned,
		text, attachments, meta, received_at, COALESCE(user_id, ''), COALESCE(session_id, ''), status, created_at`
	historyCols = `seq, COALESCE(inbound_id, 0), role, content, tool_calls, tool_call_id, name, created_at`
	outboxCols  = `id, kind, channel, conversation, thread, reply_to, text, delta, final, error,
		COALESCE(inbound_id, 0), meta`
	auditCols = `id, time, kind, user_id, session_id, tool, input, output, outcome, error,
		duration_ns, bytes, detail`
	secretCols = `user_id, name, ciphertext, created_at, updated_at, last_used`
)

// stmtDef names a statement to prepare into *dst.
type stmtDef struct {
	dst   **sql.Stmt
	query string
}

// writeStmts run on the single writer connection.
type writeStmts struct {
	begin, commit, rollback *sql.Stmt

	createUser, updateUser, linkIdentity *sql.Stmt
	createPairing, resolvePairing        *sql.Stmt
	deactivateSessions, insertSession    *sql.Stmt
	updateSession                        *sql.Stmt
	insertInbound, inboundByMessage      *sql.Stmt
	finishInbound, finishInboundSession  *sql.Stmt
	appendHistory                        *sql.Stmt
	insertOutbox, markDelivered          *sql.Stmt
	insertAudit                          *sql.Stmt
	putSecret, deleteSecret, touchSecret *sql.Stmt

	// Existence checks that name the missing row of a failed reference.
	userExists, sessionExists, inboundExists *sql.Stmt

	mem memWriteStmts // memory.go and friends
}

func (w *writeStmts) defs() []stmtDef {
	return append([]stmtDef{
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},

		{&w.createUser, `INSERT INTO users (` + userCols + `) VALUES (?, ?, ?, ?, ?)`},
		{&w.updateUser, `UPDATE users SET name = ?, role = ?, timezone = ? WHERE id = ?`},
		{&w.linkIdentity, `INSERT INTO identities (` + identityCols + `) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (channel, platform_id) DO UPDATE SET display_name = excluded.display_name
			WHERE identities.user_id = excluded.user_id
			RETURNING user_id`},

		{&w.createPairing, `INSERT INTO pairing_requests (` + pairingCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.resolvePairing, `UPDATE pairing_requests SET status = ?, user_id = ?, resolved_at = ?
			WHERE code = ? AND status = 'pending' AND expires_at > ?
			RETURNING ` + pairingCols},

		{&w.deactivateSessions, `UPDATE sessions SET active = 0
			WHERE user_id = ? AND address_key = ? AND active = 1`},
		{&w.insertSession, `INSERT INTO sessions (` + sessionCols + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`},
		{&w.updateSession, `UPDATE sessions SET model = ?, summary = ?, summary_through = ?, updated_at = ?
			WHERE id = ?`},

		{&w.insertInbound, `INSERT INTO inbox (channel, message_id, conversation, thread, sender_id,
			sender_name, direct, mentioned, text, attachments, meta, received_at, user_id, session_id,
			status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (channel, message_id) DO NOTHING`},
		{&w.inboundByMessage, `SELECT ` + inboxCols + ` FROM inbox WHERE channel = ? AND message_id = ?`},
		{&w.finishInbound, `UPDATE inbox SET status = ?, input_tokens = input_tokens + ?,
			output_tokens = output_tokens + ?, updated_at = ?
			WHERE id = ?`},
		{&w.finishInboundSession, `UPDATE inbox SET status = ?, input_tokens = input_tokens + ?,
			output_tokens = output_tokens + ?, updated_at = ?
			WHERE id = ?
			RETURNING COALESCE(session_id, '')`},
		{&w.appendHistory, `INSERT INTO history (session_id, seq, inbound_id, role, content, tool_calls,
			tool_call_id, name, created_at)
			VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM history WHERE session_id = ?),
			?, ?, ?, ?, ?, ?, ?)`},
		{&w.insertOutbox, `INSERT INTO outbox (kind, channel, conversation, thread, reply_to, text, delta,
			final, error, inbound_id, meta, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&w.markDelivered, `UPDATE outbox SET delivered_at = COALESCE(delivered_at, ?) WHERE id = ?`},

		{&w.insertAudit, `INSERT INTO audit (time, kind, user_id, session_id, tool, input, output,
			outcome, error, duration_ns, bytes, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},

		{&w.putSecret, `INSERT INTO secrets (` + secretCols + `) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, name) DO UPDATE SET ciphertext = excluded.ciphertext,
			updated_at = excluded.updated_at, last_used = excluded.last_used`},
		{&w.deleteSecret, `DELETE FROM secrets WHERE user_id = ? AND name = ?`},
		{&w.touchSecret, `UPDATE secrets SET last_used = ? WHERE user_id = ? AND name = ?`},

		{&w.userExists, `SELECT EXISTS (SELECT 1 FROM users WHERE id = ?)`},
		{&w.sessionExists, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`},
		{&w.inboundExists, `SELECT EXISTS (SELECT 1 FROM inbox WHERE id = ?)`},
	}, w.mem.defs()...)
}

func (w *writeStmts) all() []*sql.Stmt { return stmtsOf(w.defs()) }

// readStmts run on the query-only pool. A negative LIMIT means no limit.
type readStmts struct {
	getUser, listUsers, identityFor, listIdentities       *sql.Stmt
	pendingPairingFor, countPairings, listPendingPairings *sql.Stmt
	activeSession, getSession                             *sql.Stmt
	listSessions, listAllSessions                         *sql.Stmt
	pendingInbound, pendingInboundForSession, getInbound  *sql.Stmt
	history, pendingOutbound, repliesTo                   *sql.Stmt
	listAudit, getSecret, listSecrets                     *sql.Stmt

	mem memReadStmts // memory.go and friends
}

func (r *readStmts) defs() []stmtDef {
	return append([]stmtDef{
		{&r.getUser, `SELECT ` + userCols + ` FROM users WHERE id = ?`},
		{&r.listUsers, `SELECT ` + userCols + ` FROM users ORDER BY created_at, id`},
		{&r.identityFor, `SELECT ` + identityCols + ` FROM identities WHERE channel = ? AND platform_id = ?`},
		{&r.listIdentities, `SELECT ` + identityCols + ` FROM identities WHERE user_id = ?
			ORDER BY created_at, channel, platform_id`},

		{&r.pendingPairingFor, `SELECT ` + pairingCols + ` FROM pairing_requests
			WHERE channel = ? AND platform_id = ? AND status = 'pending' AND expires_at > ?
			ORDER BY created_at DESC, code LIMIT 1`},
		{&r.countPairings, `SELECT COUNT(*) FROM pairing_requests
			WHERE channel = ? AND status = 'pending' AND expires_at > ?`},
		{&r.listPendingPairings, `SELECT ` + pairingCols + ` FROM pairing_requests
			WHERE status = 'pending' AND expires_at > ?
			ORDER BY created_at, code`},

		{&r.activeSession, `SELECT ` + sessionCols + ` FROM sessions
			WHERE user_id = ? AND address_key = ? AND active = 1`},
		{&r.getSession, `SELECT ` + sessionCols + ` FROM sessions WHERE id = ?`},
		{&r.listSessions, `SELECT ` + sessionCols + ` FROM sessions WHERE user_id = ?
			ORDER BY updated_at DESC, rowid DESC LIMIT ?`},
		{&r.listAllSessions, `SELECT ` + sessionCols + ` FROM sessions
			ORDER BY updated_at DESC, rowid DESC LIMIT ?`},

		{&r.pendingInbound, `SELECT ` + inboxCols + ` FROM inbox INDEXED BY inbox_pending
			WHERE status = 'pending' ORDER BY id`},
		{&r.pendingInboundForSession, `SELECT ` + inboxCols + ` FROM inbox INDEXED BY inbox_pending
			WHERE session_id = ? AND status = 'pending' AND id > ? ORDER BY id`},
		{&r.getInbound, `SELECT ` + inboxCols + ` FROM inbox WHERE id = ?`},

		{&r.history, `SELECT ` + historyCols + ` FROM history
			WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?`},
		{&r.pendingOutbound, `SELECT ` + outboxCols + ` FROM outbox WHERE delivered_at IS NULL ORDER BY id`},
		{&r.repliesTo, `SELECT ` + outboxCols + ` FROM outbox WHERE inbound_id = ? ORDER BY id`},

		{&r.listAudit, `SELECT ` + auditCols + ` FROM audit
			WHERE (?1 = '' OR user_id = ?1) AND (?2 = '' OR tool = ?2) AND (?3 = '' OR kind = ?3)
			AND time >= ?4
			ORDER BY time DESC, id DESC LIMIT ?5`},
		{&r.getSecret, `SELECT ` + secretCols + ` FROM secrets WHERE user_id = ? AND name = ?`},
		{&r.listSecrets, `SELECT ` + secretCols + ` FROM secrets WHERE user_id = ? ORDER BY name`},
	}, r.mem.defs()...)
}

func (r *readStmts) all() []*sql.Stmt { return stmtsOf(r.defs()) }

func stmtsOf(defs []stmtDef) []*sql.Stmt {
	out := make([]*sql.Stmt, 0, len(defs))
	for _, d := range defs {
		out = append(out, *d.dst)
	}
	return out
}

func prepareAll(ctx context.Context, prepare func(context.Context, string) (*sql.Stmt, error), defs []stmtDef) error {
	for _, d := range defs {
		st, err := prepare(ctx, d.query)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", strings.Join(strings.Fields(d.query), " "), err)
		}
		*d.dst = st
	}
	return nil
}

// sqlLimit maps the interface's "0 means all" to SQLite's negative LIMIT.
func sqlLimit(n int) int64 {
	if n <= 0 {
		return -1
	}
	return int64(n)
}
