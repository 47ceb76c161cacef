// The tables the example uses; created on start (idempotent).
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS visits (
  id bigserial PRIMARY KEY,
  path text NOT NULL,
  served_by text NOT NULL,
  version text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS mail_jobs (
  id text PRIMARY KEY,
  recipient text NOT NULL,
  enqueued_by text NOT NULL,
  enqueued_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  sent_by text,
  attempts int NOT NULL DEFAULT 0
);
`;

/**
 * Runs the schema once even when several processes start together: one simple
 * query is one implicit transaction, so the transaction-level advisory lock is
 * released at its end, also on error.
 */
export async function migrate(db) {
  await db.query(`SELECT pg_advisory_xact_lock(4242); ${SCHEMA}`);
}
