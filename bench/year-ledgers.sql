-- A year of ledger history for bank-file benchmarks (issue 4), added by SQL to a register that
-- has had one real bill run. Synthetic, and said so wherever its figures are quoted: it gives every
-- customer's ledger the size it has after a year (23 entries: 11 settled months, each a charge and
-- a counter payment of the same amount, plus the real October charge, still open), so that a bank
-- file is posted against ledger B-trees of realistic size (23 million entries for 1,000,000
-- customers, a 4.5 GB file). Bills of the 11 months are not created: the posting reads ledgers only.
--
--   bureau demo --no-serve --customers 1000000 --months 1 --through 2026-10 --db sqlite:///tmp/y.db
--   bureau --db sqlite:///tmp/y.db bench bill-run --period 2026-10
--   sqlite3 /tmp/y.db < bench/year-ledgers.sql        # about 100 s
--
-- The rows are inserted in primary-key order, in one transaction with the rollback journal (a
-- 23-million-row WAL would be larger than the database); the WAL mode is restored at the end.
PRAGMA journal_mode = DELETE;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -1000000;
BEGIN;
WITH RECURSIVE m(i, p) AS (SELECT 0, '2025-11' UNION ALL SELECT i + 1, strftime('%Y-%m', p || '-01', '+1 month') FROM m WHERE i < 10),
src AS (SELECT customer_id, amount_fen FROM ledger_entries WHERE entry_id = 'charge-2026-10')
INSERT INTO ledger_entries (customer_id, entry_id, posted_at_us, posted_by, channel, reason, kind, amount_fen, bill_id, period, due_on, idem_key)
SELECT customer_id, entry_id, at, by_, ch, reason, kind, amt, bill, period, due, key FROM (
  SELECT s.customer_id, 'charge-' || m.p AS entry_id, CAST(strftime('%s', m.p || '-01', '+1 month', '+2 days') AS INTEGER) * 1000000 AS at,
         'system' AS by_, 'billing' AS ch, m.p || ' 电费' AS reason, 'charge' AS kind, s.amount_fen AS amt, m.p AS bill, m.p AS period,
         date(m.p || '-01', '+1 month', '+12 days') AS due, NULL AS key
  FROM src s, m
  UNION ALL
  SELECT s.customer_id, 'pay-hist-' || m.p, CAST(strftime('%s', m.p || '-01', '+1 month', '+8 days') AS INTEGER) * 1000000,
         'clerk', 'counter', '柜台缴费', 'payment', -s.amount_fen, NULL, NULL, NULL, 'hist:' || s.customer_id || ':' || m.p
  FROM src s, m
) ORDER BY customer_id, entry_id;
UPDATE ledger_versions SET version = version + 22;
COMMIT;
PRAGMA journal_mode = WAL;
SELECT count(*) FROM ledger_entries;
