package store

import (
	"context"
	"database/sql"
	"fmt"
)

// hotQueries run for every batch of results. They are prepared once on the
// writer at Open: parsing them again per batch cost about a tenth of a
// check's CPU.
func hotQueries() []string {
	return []string{insertCheck, updateLastCheck, updateState, insertTransition,
		upsertHourly[0], upsertHourly[1], upsertDaily[0], upsertDaily[1]}
}

// prepareHot prepares hotQueries on the writer. It must run while no
// transaction holds the writer's only connection.
func prepareHot(ctx context.Context, w *sql.DB) (map[string]*sql.Stmt, error) {
	m := map[string]*sql.Stmt{}
	for _, q := range hotQueries() {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			closeStmts(m)
			return nil, fmt.Errorf("store: prepare: %w", err)
		}
		m[q] = st
	}
	return m, nil
}

func closeStmts(m map[string]*sql.Stmt) {
	for _, st := range m {
		st.Close()
	}
}

// wtx is a write transaction that reuses the statements prepared at Open.
type wtx struct {
	*sql.Tx
	prepared map[string]*sql.Stmt
}

// PrepareContext binds a statement prepared at Open to this transaction
// (on the same, only, writer connection: no new parse), or prepares query.
func (t wtx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := t.prepared[query]; ok {
		return t.Tx.StmtContext(ctx, st), nil
	}
	return t.Tx.PrepareContext(ctx, query)
}
