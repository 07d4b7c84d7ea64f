// The notification outbox on SQLite and PostgreSQL (included by both store crates after
// `sql_store.rs`; see that file's header).

const OUTBOX_COLUMNS: &str = "id, msg_key, channel, recipient, subject, body, data, status, attempts, max_attempts,
    created_at, due_at, claim_token, lease_until, sent_at, last_error";

fn outbox_from_row(r: &<Db as sqlx::Database>::Row) -> StoreResult<OutboxMessage> {
    let status: String = r.try_get("status").map_err(db_err)?;
    Ok(OutboxMessage {
        id: r.try_get("id").map_err(db_err)?,
        key: r.try_get("msg_key").map_err(db_err)?,
        channel: r.try_get("channel").map_err(db_err)?,
        recipient: r.try_get("recipient").map_err(db_err)?,
        subject: r.try_get("subject").map_err(db_err)?,
        body: r.try_get("body").map_err(db_err)?,
        data: r.try_get("data").map_err(db_err)?,
        status: OutboxStatus::parse(&status).ok_or_else(|| corrupt("outbox status", &status))?,
        attempts: r.try_get("attempts").map_err(db_err)?,
        max_attempts: r.try_get("max_attempts").map_err(db_err)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
        due_at: r.try_get("due_at").map_err(db_err)?,
        claim_token: r.try_get("claim_token").map_err(db_err)?,
        lease_until: r.try_get("lease_until").map_err(db_err)?,
        sent_at: r.try_get("sent_at").map_err(db_err)?,
        last_error: r.try_get("last_error").map_err(db_err)?,
    })
}

/// A LIKE pattern (with `ESCAPE '\'`) matching text that starts with `prefix` literally.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

/// PostgreSQL skips rows another transaction is claiming; SQLite has one writer, so a claim is
/// already alone.
fn outbox_skip_locked() -> &'static str {
    if dialect::BACKEND == "postgres" {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    }
}

/// Inserts a message unless one with its key is already there; true when written. Takes any
/// executor, so that a use case's transaction can write its notifications with its own change.
async fn insert_outbox<'e, E>(executor: E, m: &NewOutboxMessage) -> StoreResult<bool>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let n = sqlx::query(
        "INSERT INTO outbox (id, msg_key, channel, recipient, subject, body, data, status, attempts,
                             max_attempts, created_at, due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9, $10)
         ON CONFLICT (msg_key) DO NOTHING",
    )
    .bind(&m.id)
    .bind(&m.key)
    .bind(&m.channel)
    .bind(&m.recipient)
    .bind(&m.subject)
    .bind(&m.body)
    .bind(&m.data)
    .bind(m.max_attempts)
    .bind(m.created_at)
    .bind(m.due_at)
    .execute(executor)
    .await
    .map_err(db_err)?
    .rows_affected();
    Ok(n == 1)
}

/// [`insert_outbox`] for many messages in one statement; a key already there is skipped.
async fn insert_outbox_rows(tx: &mut sqlx::Transaction<'_, Db>, messages: &[&NewOutboxMessage]) -> StoreResult<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut qb = QueryBuilder::<Db>::new(
        "INSERT INTO outbox (id, msg_key, channel, recipient, subject, body, data, status, attempts,
                             max_attempts, created_at, due_at) ",
    );
    qb.push_values(messages, |mut b, m| {
        b.push_bind(m.id.clone())
            .push_bind(m.key.clone())
            .push_bind(m.channel.clone())
            .push_bind(m.recipient.clone())
            .push_bind(m.subject.clone())
            .push_bind(m.body.clone())
            .push_bind(m.data.clone())
            .push("'pending'")
            .push("0")
            .push_bind(m.max_attempts)
            .push_bind(m.created_at)
            .push_bind(m.due_at);
    });
    qb.push(" ON CONFLICT (msg_key) DO NOTHING");
    qb.build().execute(&mut **tx).await.map_err(db_err)?;
    Ok(())
}

/// The claim statement of [`OutboxStore::claim_outbox`]: marks up to `c.limit` due messages as
/// being sent under `c.token` and returns them.
fn claim_query<'a>(c: &'a Claim<'a>) -> QueryBuilder<'a, Db> {
    // The candidates are chosen once, in a materialised CTE: PostgreSQL may re-run an
    // `IN (SELECT … LIMIT n SKIP LOCKED)` sub-query and so update more than n rows.
    let mut qb = QueryBuilder::<Db>::new(
        "WITH due AS MATERIALIZED (SELECT id FROM outbox WHERE ((status = 'pending' AND due_at <= ",
    );
    qb.push_bind(c.now);
    qb.push(") OR (status = 'sending' AND lease_until <= ");
    qb.push_bind(c.now);
    // The literal status term lets both engines use the partial index outbox_claim (0012).
    qb.push(")) AND status IN ('pending', 'sending') AND attempts < max_attempts");
    if let Some(channels) = c.channels {
        qb.push(" AND channel IN (");
        let mut sep = qb.separated(", ");
        for ch in channels {
            sep.push_bind(ch.as_str());
        }
        qb.push(")");
    } else {
        qb.push(" AND channel NOT IN (");
        let mut sep = qb.separated(", ");
        for ch in INTERNAL_CHANNELS {
            sep.push_bind(*ch);
        }
        qb.push(")");
    }
    qb.push(" ORDER BY due_at, id LIMIT ");
    qb.push_bind(i64::from(c.limit));
    qb.push(outbox_skip_locked());
    qb.push(") UPDATE outbox SET status = 'sending', attempts = attempts + 1, claim_token = ");
    qb.push_bind(c.token);
    qb.push(", lease_until = ");
    qb.push_bind(c.lease_until);
    // Checked again on the row itself, so that a row another claim changed in the meantime
    // is not taken twice. The rows are found by their ids; `NO_INDEX` keeps SQLite from
    // walking index outbox_due through every pending message of every channel instead (the
    // SMS waiting for a gateway: 100+ ms under the writer's lock at 90,000 of them).
    qb.push(format!(
        " WHERE id IN (SELECT id FROM due) AND ({ni}status = 'pending' OR ({ni}status = 'sending' AND lease_until <= ",
        ni = dialect::NO_INDEX
    ));
    qb.push_bind(c.now);
    qb.push(")) RETURNING ");
    qb.push(OUTBOX_COLUMNS);
    qb
}

#[async_trait::async_trait]
impl OutboxStore for SqlStore {
    async fn enqueue(&self, m: &NewOutboxMessage) -> StoreResult<Enqueued> {
        let inserted = insert_outbox(&self.writer, m).await?;
        if inserted {
            return Ok(Enqueued { id: m.id.clone(), created: true });
        }
        let id: String = sqlx::query_scalar("SELECT id FROM outbox WHERE msg_key = $1")
            .bind(&m.key)
            .fetch_one(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(Enqueued { id, created: false })
    }

    async fn enqueue_many(&self, msgs: &[NewOutboxMessage]) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut n = 0;
        for chunk in msgs.chunks(CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(
                "INSERT INTO outbox (id, msg_key, channel, recipient, subject, body, data, status, attempts,
                                     max_attempts, created_at, due_at) ",
            );
            qb.push_values(chunk, |mut b, m| {
                b.push_bind(m.id.as_str())
                    .push_bind(m.key.as_str())
                    .push_bind(m.channel.as_str())
                    .push_bind(m.recipient.as_str())
                    .push_bind(m.subject.as_str())
                    .push_bind(m.body.as_str())
                    .push_bind(m.data.as_deref())
                    .push_bind("pending")
                    .push_bind(0_i64)
                    .push_bind(m.max_attempts)
                    .push_bind(m.created_at)
                    .push_bind(m.due_at);
            });
            qb.push(" ON CONFLICT (msg_key) DO NOTHING");
            n += qb.build().execute(&mut *tx).await.map_err(db_err)?.rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn claim_outbox(&self, c: &Claim<'_>) -> StoreResult<Vec<OutboxMessage>> {
        if c.channels.is_some_and(|ch| ch.is_empty()) || c.limit == 0 {
            return Ok(Vec::new());
        }
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        // A worker that died holding the last allowed attempt: give up on the message.
        sqlx::query(
            "UPDATE outbox SET status = 'dead', claim_token = NULL,
                    last_error = COALESCE(last_error, 'the lease ran out on the last attempt')
             WHERE status = 'sending' AND lease_until <= $1 AND attempts >= max_attempts",
        )
        .bind(c.now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut qb = claim_query(c);
        let rows = qb.build().fetch_all(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let mut out = rows.iter().map(outbox_from_row).collect::<StoreResult<Vec<_>>>()?;
        out.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        Ok(out)
    }

    async fn mark_outbox_sent(&self, id: &str, token: &str, now: i64) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $3, claim_token = NULL, lease_until = NULL
             WHERE id = $1 AND status = 'sending' AND claim_token = $2",
        )
        .bind(id)
        .bind(token)
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn mark_outbox_sent_many(&self, ids: &[String], token: &str, now: i64) -> StoreResult<Vec<String>> {
        let mut marked = Vec::with_capacity(ids.len());
        // 500 ids a statement keeps well inside either database's limit on bound values.
        for chunk in ids.chunks(500) {
            let mut qb = sqlx::QueryBuilder::<Db>::new(
                "UPDATE outbox SET status = 'sent', claim_token = NULL, lease_until = NULL, sent_at = ",
            );
            qb.push_bind(now);
            // By id (see `claim_outbox` on `NO_INDEX`).
            qb.push(format!(" WHERE {}status = 'sending' AND claim_token = ", dialect::NO_INDEX));
            qb.push_bind(token);
            qb.push(" AND id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            qb.push(") RETURNING id");
            let rows = qb.build().fetch_all(&self.writer).await.map_err(db_err)?;
            for row in rows {
                marked.push(row.try_get::<String, _>(0).map_err(db_err)?);
            }
        }
        Ok(marked)
    }

    async fn mark_outbox_failed(
        &self,
        id: &str,
        token: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<bool> {
        let error: String = error.chars().take(2000).collect();
        let n = match retry_at {
            Some(at) => sqlx::query(
                "UPDATE outbox SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
                        due_at = $3, last_error = $4, claim_token = NULL, lease_until = NULL
                 WHERE id = $1 AND status = 'sending' AND claim_token = $2",
            )
            .bind(id)
            .bind(token)
            .bind(at)
            .bind(&error),
            None => sqlx::query(
                "UPDATE outbox SET status = 'dead', last_error = $3, claim_token = NULL, lease_until = NULL
                 WHERE id = $1 AND status = 'sending' AND claim_token = $2",
            )
            .bind(id)
            .bind(token)
            .bind(&error),
        }
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn cancel_outbox(&self, key_prefix: &str) -> StoreResult<u64> {
        let n = sqlx::query(
            "UPDATE outbox SET status = 'cancelled' WHERE status = 'pending' AND msg_key LIKE $1 ESCAPE '\\'",
        )
        .bind(like_prefix(key_prefix))
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n)
    }

    async fn outbox_by_key(&self, key: &str) -> StoreResult<OutboxMessage> {
        let row = sqlx::query(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE msg_key = $1"))
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        outbox_from_row(&row)
    }

    async fn list_outbox(&self, q: &OutboxQuery) -> StoreResult<Vec<OutboxMessage>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE 1 = 1"));
        if let Some(s) = q.status {
            qb.push(" AND status = ");
            qb.push_bind(s.code());
        }
        if let Some(p) = &q.key_prefix {
            qb.push(" AND msg_key LIKE ");
            qb.push_bind(like_prefix(p));
            qb.push(" ESCAPE '\\'");
        }
        if let Some(r) = &q.recipient {
            qb.push(" AND recipient = ");
            qb.push_bind(r.as_str());
        }
        qb.push(" ORDER BY created_at DESC, id DESC LIMIT ");
        qb.push_bind(i64::from(q.limit.clamp(1, 10_000)));
        let rows = qb.build().fetch_all(&self.pool).await.map_err(db_err)?;
        rows.iter().map(outbox_from_row).collect()
    }
}
