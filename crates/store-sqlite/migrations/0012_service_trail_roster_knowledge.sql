-- The 95598 service centre, continued: every trail begins with the acceptance, the duty roster
-- and the knowledge base keep their history, and the screen pop lives in the database.
-- Instants are Unix seconds.

-- Orders accepted before this migration get the first entry of their trail, as intake now writes
-- it with every order: seq 0, who accepted it, when, and the channel.
INSERT INTO work_order_events (customer_id, order_id, seq, at, actor, event, from_status, to_status, detail)
SELECT w.customer_id, w.id, 0, w.accepted_at, w.accepted_by, 'accept', 'accepted', 'accepted',
       '{"channel":"' || w.channel || '"}'
FROM work_orders w
WHERE NOT EXISTS (SELECT 1 FROM work_order_events e
                  WHERE e.customer_id = w.customer_id AND e.order_id = w.id AND e.seq = 0);

-- A shift is put on the roster by someone, and may be ended early (or called off before it
-- starts): the planned times are kept as they were, the end is recorded beside them.
ALTER TABLE duty_roster ADD COLUMN created_at INTEGER;
ALTER TABLE duty_roster ADD COLUMN created_by TEXT;
ALTER TABLE duty_roster ADD COLUMN ended_at INTEGER;
ALTER TABLE duty_roster ADD COLUMN ended_by TEXT;

-- Knowledge-base answers: the row is the current revision; every revision (added, edited,
-- retired) is kept in knowledge_revisions, which is only ever appended to.
ALTER TABLE knowledge_articles ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
ALTER TABLE knowledge_articles ADD COLUMN retired_at INTEGER;
CREATE TABLE knowledge_revisions (
    article_id TEXT NOT NULL REFERENCES knowledge_articles (id),
    revision   INTEGER NOT NULL,
    change     TEXT NOT NULL CHECK (change IN ('add', 'edit', 'retire')),
    at         INTEGER NOT NULL,
    by_staff   TEXT NOT NULL,
    kind       TEXT,
    subtype    TEXT,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL,
    tags       TEXT NOT NULL,
    PRIMARY KEY (article_id, revision)
);
INSERT INTO knowledge_revisions (article_id, revision, change, at, by_staff, kind, subtype, title, body, tags)
SELECT id, 1, 'add', updated_at, updated_by, kind, subtype, title, body, tags FROM knowledge_articles;

-- The screen pop: the latest call the phone system reported ringing at each agent, so that it
-- survives a restart and every server process sees it.
CREATE TABLE screen_pops (
    agent_id  TEXT PRIMARY KEY REFERENCES staff (id),
    phone     TEXT NOT NULL,
    at        INTEGER NOT NULL,
    posted_by TEXT NOT NULL
);

-- Claiming outbox messages looks only at those still to deliver, of the claiming worker's
-- channels, soonest first. Without this a worker walked (status, due_at) through every other
-- channel's pending rows: the grid hand-over worker in `serve` stepped over hundreds of thousands
-- of SMS waiting for a gateway to be configured on every poll.
CREATE INDEX outbox_claim ON outbox (channel, due_at) WHERE status IN ('pending', 'sending');
