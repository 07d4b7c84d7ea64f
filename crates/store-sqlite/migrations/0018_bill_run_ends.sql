-- Bill runs (migration 0003) know their background job and how they ended.
-- job_id: the bill run job (migration 0015) the run belongs to; NULL for a run from the command line.
-- ended: 'finished' when the run's own process ended it; 'taken_over' when its process died and
-- another server took its job over (or a new start superseded the job): finished_at is then the time
-- of the takeover, and the counts are what the run recorded before it died (none). NULL while the
-- run runs. Runs that finished before this migration are marked finished.
ALTER TABLE bill_runs ADD COLUMN job_id TEXT;
ALTER TABLE bill_runs ADD COLUMN ended TEXT CHECK (ended IS NULL OR ended = 'finished' OR ended = 'taken_over');
UPDATE bill_runs SET ended = 'finished' WHERE finished_at IS NOT NULL;
CREATE INDEX bill_runs_job ON bill_runs (job_id) WHERE job_id IS NOT NULL;
