-- The settled mark of a ledger (bureau_store::SettledMark): the last entry of its settled prefix,
-- by its key in posting order (posted_at_us, then entry_id byte by byte, hence COLLATE "C" below).
-- A payment reads only the entries after it (bureau_domain::ledger::settled_prefix proves that it
-- decides the same). NULL: no mark, the whole ledger is read.
ALTER TABLE ledger_versions ADD COLUMN settled_at_us BIGINT, ADD COLUMN settled_entry TEXT;

-- The database keeps a mark true whatever path writes: an entry posted at or before the mark, or
-- on a bill that has an entry at or before it, or reversing an entry at or before it, clears it.
-- (A new bill's charge, a payment or a late fee on a bill after the mark leave it.) Once per
-- statement over its inserted rows, so that a bank file's bulk insert pays one join, not a call
-- per row. Every posting raises the ledger's version first (a row lock), and a mark is only set
-- with the version it was computed at, so a mark and a racing posting cannot miss each other.
CREATE FUNCTION ledger_entries_unsettle_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_versions v SET settled_at_us = NULL, settled_entry = NULL
    WHERE v.settled_at_us IS NOT NULL AND v.customer_id IN (
        SELECT n.customer_id FROM inserted n JOIN ledger_versions w ON w.customer_id = n.customer_id
        WHERE w.settled_at_us IS NOT NULL AND (
            n.posted_at_us < w.settled_at_us
            OR (n.posted_at_us = w.settled_at_us AND n.entry_id COLLATE "C" <= w.settled_entry COLLATE "C")
            OR (n.bill_id IS NOT NULL AND EXISTS (
                SELECT 1 FROM ledger_entries e
                WHERE e.customer_id = n.customer_id AND e.bill_id = n.bill_id
                  AND (e.posted_at_us < w.settled_at_us
                       OR (e.posted_at_us = w.settled_at_us AND e.entry_id COLLATE "C" <= w.settled_entry COLLATE "C"))))
            OR (n.reversal_of IS NOT NULL AND EXISTS (
                SELECT 1 FROM ledger_entries e
                WHERE e.customer_id = n.customer_id AND e.entry_id = n.reversal_of
                  AND (e.posted_at_us < w.settled_at_us
                       OR (e.posted_at_us = w.settled_at_us AND e.entry_id COLLATE "C" <= w.settled_entry COLLATE "C"))))));
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_entries_unsettle_insert AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_unsettle_inserted();

-- Entries are never updated or deleted; if one ever is, its ledger's mark goes too.
CREATE FUNCTION ledger_entries_unsettle_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ledger_versions SET settled_at_us = NULL, settled_entry = NULL WHERE customer_id = OLD.customer_id;
    IF TG_OP = 'UPDATE' THEN
        UPDATE ledger_versions SET settled_at_us = NULL, settled_entry = NULL WHERE customer_id = NEW.customer_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_entries_unsettle_changed AFTER UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_unsettle_changed();
