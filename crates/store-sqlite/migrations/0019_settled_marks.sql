-- The settled mark of a ledger (bureau_store::SettledMark): the last entry of its settled prefix,
-- by its key in posting order (posted_at_us, then entry_id byte by byte). A payment reads only the
-- entries after it (bureau_domain::ledger::settled_prefix proves that it decides the same). NULL:
-- no mark, the whole ledger is read.
ALTER TABLE ledger_versions ADD COLUMN settled_at_us INTEGER;
ALTER TABLE ledger_versions ADD COLUMN settled_entry TEXT;

-- The database keeps a mark true whatever path writes: an entry posted at or before the mark, or
-- on a bill that has an entry at or before it, or reversing an entry at or before it, clears it.
-- (A new bill's charge, a payment or a late fee on a bill after the mark leave it.) Entries are
-- never updated or deleted; if one ever is, its ledger's mark goes too.
CREATE TRIGGER ledger_entries_unsettle_insert AFTER INSERT ON ledger_entries
WHEN EXISTS (
    SELECT 1 FROM ledger_versions v
    WHERE v.customer_id = NEW.customer_id AND v.settled_at_us IS NOT NULL AND (
        NEW.posted_at_us < v.settled_at_us
        OR (NEW.posted_at_us = v.settled_at_us AND NEW.entry_id <= v.settled_entry)
        OR (NEW.bill_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM ledger_entries e
            WHERE e.customer_id = NEW.customer_id AND e.bill_id = NEW.bill_id
              AND (e.posted_at_us < v.settled_at_us
                   OR (e.posted_at_us = v.settled_at_us AND e.entry_id <= v.settled_entry))))
        OR (NEW.reversal_of IS NOT NULL AND EXISTS (
            SELECT 1 FROM ledger_entries e
            WHERE e.customer_id = NEW.customer_id AND e.entry_id = NEW.reversal_of
              AND (e.posted_at_us < v.settled_at_us
                   OR (e.posted_at_us = v.settled_at_us AND e.entry_id <= v.settled_entry))))))
BEGIN
    UPDATE ledger_versions SET settled_at_us = NULL, settled_entry = NULL WHERE customer_id = NEW.customer_id;
END;

CREATE TRIGGER ledger_entries_unsettle_update AFTER UPDATE ON ledger_entries
BEGIN
    UPDATE ledger_versions SET settled_at_us = NULL, settled_entry = NULL
    WHERE customer_id IN (OLD.customer_id, NEW.customer_id);
END;

CREATE TRIGGER ledger_entries_unsettle_delete AFTER DELETE ON ledger_entries
BEGIN
    UPDATE ledger_versions SET settled_at_us = NULL, settled_entry = NULL WHERE customer_id = OLD.customer_id;
END;
