-- Trigram indexes for anywhere-in-the-text customer search. pg_trgm ships with PostgreSQL (contrib),
-- but creating an extension needs a privileged role: where that is refused, the search falls back
-- to a scan and the migration still succeeds.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE INDEX customers_address_trgm ON customers USING gin (address gin_trgm_ops);
    CREATE INDEX customers_name_trgm ON customers USING gin (name gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_trgm unavailable, customer text search will scan: %', SQLERRM;
END
$$;
