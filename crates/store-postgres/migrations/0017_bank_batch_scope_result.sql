-- Bank batches (migration 0010) by bureau, with their result file.
-- bureau_id: the bureau of the staff member who posted the file; a batch is listed to the staff whose
-- scope covers it, as every other record ('' for batches posted before this migration, and for the
-- system: seen with an all-bureaus scope only).
-- result_zh / result_en: the per-line result CSV (line,account_no,amount,bank_ref,status,code,message)
-- in each language, kept so that it can be downloaded again; NULL for batches posted before.
ALTER TABLE bank_batches ADD COLUMN bureau_id TEXT NOT NULL DEFAULT '';
ALTER TABLE bank_batches ADD COLUMN result_zh TEXT;
ALTER TABLE bank_batches ADD COLUMN result_en TEXT;
CREATE INDEX bank_batches_bureau ON bank_batches (bureau_id, started_at);
