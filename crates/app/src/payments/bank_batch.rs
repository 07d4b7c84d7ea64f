//! Posting a bank batch file (银行批量代扣/代收): every good line becomes a payment, every line gets
//! a result, in input order.
//!
//! The file is read by `bureau_domain::ledger::bank_file` (format, per-line errors, the result
//! file). Here the good lines are posted in chunks: one lookup of the chunk's accounts, one read of
//! the ledgers it touches, and one transaction for all its postings
//! ([`bureau_store::LedgerStore::post_entry_groups`], which looks the keys up itself); the keys are
//! read only for the groups it answers as duplicates. A line whose key was posted before is a
//! `duplicate` (no money moves), so a file sent twice — also two uploads racing — posts each line
//! once, and a rerun after a crash half way posts exactly the lines that were not yet posted. A
//! payment posts with the late fees it makes payable, as at the counter (`post::payment_entries`).
//! An account that does not exist, or is outside the actor's bureaus, rejects its line only.
//!
//! The good lines are posted in account order, each account's lines in file order (a stable sort),
//! and answered in input order. Within a transaction the groups were always written in account
//! order; sorting the whole file first makes each chunk a narrow range of the ledger's key, so the
//! chunk's readers and its writer walk neighbouring pages (docs/performance.md, issue 4).
//! The order decides nothing else: a `bank_ref` repeated inside the file is refused on its later
//! line by the parser, before any posting.

use super::post::{busy_error, payment_entries, unknown_account, NewPayment};
use super::settled_marks::next_mark;
use super::{ledger_instant, COUNTER_ROLES};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use bureau_domain::late_fee::{LateFeeClass, LateFeeRules};
use bureau_domain::ledger::bank_file::{
    format_results, parse_batch, BankPayment, BatchLine, LineStatus, ResultLine,
};
use bureau_domain::ledger::{
    classify_submission, AmountLimits, Channel, Entry, EntryId, EntryKind, PaymentRequest, PriorPayment,
    Submission,
};
use bureau_domain::money::Fen;
use bureau_domain::register::{AccountNo, Customer};
use bureau_store::{
    BankBatchRecord, BankBatchResultFile, CustomerEntry, DynStore, EntryGroup, OpenLedger, Posted,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Lines posted in one transaction: large enough that the per-transaction cost vanishes, small
/// enough that the writer is never held for long (other postings wait for it) and memory stays flat.
pub const DEFAULT_CHUNK: usize = 2_000;

/// How many times the lines of a chunk refused as stale (another posting to the same ledger came
/// first) are read and decided again.
const ATTEMPTS: usize = 20;

/// What to post: the bank (its code, from the transfer, not the file) and the file's name.
#[derive(Clone, Debug)]
pub struct BankBatchInput<'a> {
    pub bank: &'a str,
    pub file_name: &'a str,
    pub text: &'a str,
    /// Lines per transaction ([`DEFAULT_CHUNK`] when 0).
    pub chunk: usize,
}

/// The counts of a posted file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BankBatchSummary {
    pub batch_id: String,
    pub bank: String,
    pub file_name: String,
    pub lines: u64,
    pub posted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// The money this upload posted (duplicates moved nothing).
    pub posted_amount: Fen,
}

/// The counts and one result per input line, in input order.
#[derive(Clone, Debug, Serialize)]
pub struct BankBatchResult {
    pub summary: BankBatchSummary,
    pub results: Vec<ResultLine>,
}

/// Reads and posts a bank file. A bad header (or bank code) refuses the whole file
/// ([`AppError::Invalid`]); any other problem rejects its line only.
pub async fn post_bank_batch(
    store: &DynStore,
    actor: &Actor,
    rules: &LateFeeRules,
    input: &BankBatchInput<'_>,
) -> AppResult<BankBatchResult> {
    actor.require_any(COUNTER_ROLES)?;
    let started = jiff::Timestamp::now();
    let lines = parse_batch(input.bank, input.text, &AmountLimits::default())
        .map_err(|e| AppError::Invalid(vec![e.error]))?;
    let bank = input.bank.trim().to_string();
    let mut results: Vec<Option<ResultLine>> = vec![None; lines.len()];
    let mut good = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match &line.result {
            Ok(p) => good.push((i, p)),
            Err(errors) => results[i] = Some(ResultLine::rejected(line, errors)),
        }
    }
    // Account order, stable (see the module's comment).
    good.sort_by(|a, b| a.1.account.as_str().cmp(b.1.account.as_str()));
    let chunk = if input.chunk == 0 { DEFAULT_CHUNK } else { input.chunk };
    let ctx = Ctx { store, actor, rules, bank: &bank, lines: &lines };
    // A pipeline of two: while chunk k's first round is written, chunk k+1 is read and decided (on
    // another thread for the store, on this one for the decisions), so the reading and deciding no
    // longer wait for the writer nor the writer for them. Chunk k+1 may be decided on a ledger that
    // chunk k is changing (the same account in both, or another posting in between): its version
    // then no longer matches, the store refuses that group as stale, and it is read and decided
    // again after chunk k is done, as any stale group. The writes stay in chunk order: chunk k+1's
    // first write starts only after every round of chunk k.
    let mut parts = good.chunks(chunk);
    let mut next = match parts.next() {
        Some(part) => Some(ctx.prepare(part).await?),
        None => None,
    };
    while let Some(current) = next.take() {
        let following = parts.next();
        let (outcomes, prepared) = tokio::join!(ctx.post(&current.round.groups), async {
            match following {
                Some(part) => ctx.prepare(part).await.map(Some),
                None => Ok(None),
            }
        });
        let outcomes = outcomes?;
        next = prepared?;
        ctx.finish_chunk(current, outcomes, &mut results).await?;
    }
    let results: Vec<ResultLine> = results.into_iter().map(|r| r.expect("every line has a result")).collect();
    let mut summary = BankBatchSummary {
        batch_id: crate::outbox::new_id("bank-"),
        bank,
        file_name: input.file_name.to_string(),
        lines: results.len() as u64,
        ..Default::default()
    };
    for (r, line) in results.iter().zip(&lines) {
        match r.status {
            LineStatus::Posted => {
                summary.posted += 1;
                summary.posted_amount += line.result.as_ref().map_or(Fen::ZERO, |p| p.amount);
            }
            LineStatus::Duplicate => summary.duplicate += 1,
            LineStatus::Rejected => summary.rejected += 1,
        }
    }
    let file = BankBatchResultFile {
        zh: format_results(&results, Lang::Zh),
        en: format_results(&results, Lang::En),
    };
    store
        .save_bank_batch(
            &BankBatchRecord {
                batch_id: summary.batch_id.clone(),
                bureau_id: actor.bureau_id.clone(),
                bank: summary.bank.clone(),
                file_name: summary.file_name.clone(),
                posted_by: actor.staff_id.clone(),
                started_at: started.as_second(),
                finished_at: jiff::Timestamp::now().as_second(),
                lines: summary.lines,
                posted: summary.posted,
                duplicate: summary.duplicate,
                rejected: summary.rejected,
                posted_amount: summary.posted_amount,
                has_result: true,
            },
            &file,
        )
        .await?;
    Ok(BankBatchResult { summary, results })
}

/// The batches posted before by the bureaus in the actor's scope, newest first.
pub async fn bank_batches(store: &DynStore, actor: &Actor, limit: u32) -> AppResult<Vec<BankBatchRecord>> {
    actor.require_any(COUNTER_ROLES)?;
    Ok(store.list_bank_batches(&actor.scope, limit.clamp(1, 1_000)).await?)
}

/// The result file of a batch posted before (the CSV written when it was posted, in `lang`). A
/// batch outside the actor's scope is not found, as one that does not exist; a batch posted
/// before the files were kept (migration 0017) has none.
pub async fn bank_batch_result(
    store: &DynStore,
    actor: &Actor,
    batch_id: &str,
    lang: Lang,
) -> AppResult<String> {
    actor.require_any(COUNTER_ROLES)?;
    match store.bank_batch_result(batch_id).await? {
        Some((record, file)) if actor.scope.allows(&record.bureau_id) => match file {
            Some(f) => Ok(if lang == Lang::Zh { f.zh } else { f.en }),
            None => Err(AppError::not_found("bank_batch_result", batch_id)),
        },
        _ => Err(AppError::not_found("bank_batch", batch_id)),
    }
}

struct Ctx<'a> {
    store: &'a DynStore,
    actor: &'a Actor,
    rules: &'a LateFeeRules,
    bank: &'a str,
    lines: &'a [BatchLine],
}

/// A line ready to post: its index in the file, its payment and its customer.
type Pending<'p> = (usize, &'p BankPayment);

impl Ctx<'_> {
    fn reason(&self, channel: Channel) -> String {
        match channel {
            Channel::BankWithhold => format!("银行代扣（{}）", self.bank),
            _ => format!("银行代收（{}）", self.bank),
        }
    }

    /// Reads a chunk of good lines (index in the file, payment): its customers (a line whose account
    /// is unknown or outside the actor's bureaus is set aside) and the ledgers of the others, on which
    /// their first round is decided. Writes nothing, so it may run beside another chunk's writing.
    ///
    /// The customers and the ledgers are read at once, on two reader connections: the chunk's
    /// reading, not the writer, is what bounds a bank file on ledgers with a year of entries
    /// (docs/performance.md, issue 4). The ledgers of accounts that turn out unknown or out of
    /// scope are read for nothing and dropped unseen.
    async fn prepare<'p>(&self, part: &'p [Pending<'p>]) -> AppResult<Prepared<'p>> {
        let mut ids: Vec<String> = part.iter().map(|(_, p)| p.account.as_str().to_string()).collect();
        ids.sort_unstable();
        ids.dedup();
        let (customers, ledgers) =
            tokio::try_join!(self.store.customers_by_ids(&ids), self.store.open_ledgers_of(&ids))?;
        let customers: HashMap<String, Customer> = customers
            .into_iter()
            .filter(|c| self.actor.scope.allows(&c.bureau_id))
            .map(|c| (c.id.as_str().to_string(), c))
            .collect();
        let mut pending = Vec::with_capacity(part.len());
        let mut unknown = Vec::new();
        for &(i, p) in part {
            if customers.contains_key(p.account.as_str()) {
                pending.push((i, p));
            } else {
                unknown.push((i, p));
            }
        }
        let round = self.decide_on(pending, &customers, ledgers)?;
        Ok(Prepared { part, customers, unknown, round })
    }

    /// Posts a round's groups in one transaction (nothing to do for none).
    async fn post(&self, groups: &[EntryGroup]) -> AppResult<Vec<Posted>> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.post_entry_groups(groups).await?)
    }

    /// Finishes a chunk whose first round was written with `outcomes`: answers its lines, then reads,
    /// decides and posts again the lines refused as stale or as duplicates until all are answered.
    async fn finish_chunk(
        &self,
        chunk: Prepared<'_>,
        outcomes: Vec<Posted>,
        results: &mut [Option<ResultLine>],
    ) -> AppResult<()> {
        let Prepared { part, customers, unknown, round } = chunk;
        for (i, p) in unknown {
            results[i] = Some(ResultLine::rejected(&self.lines[i], &[unknown_account(p.account.as_str())]));
        }
        // The keys are not looked up before the first round: the store looks each group's keys up
        // in its write transaction and answers a key posted before as `Duplicate`; only then are
        // the returned lines' keys read, to answer each line exactly (a duplicate of its first
        // posting, or a conflict), and the rest of such a group posted again.
        let (mut pending, mut look_up_keys) = self.settle(round, outcomes, results);
        for _ in 1..ATTEMPTS {
            if look_up_keys {
                pending = self.settle_posted_keys(pending, results).await?;
            }
            if pending.is_empty() {
                break;
            }
            let round = self.decide(pending, &customers).await?;
            let outcomes = self.post(&round.groups).await?;
            (pending, look_up_keys) = self.settle(round, outcomes, results);
        }
        for (i, _) in pending {
            results[i] = Some(ResultLine::rejected(&self.lines[i], &[busy_error()]));
        }
        self.after_payments(part, &customers, results).await
    }

    /// The arrears follow-up of the counter (`arrears::after_payment`) for every line posted here:
    /// a payment that clears a disconnected customer's arrears orders the reconnection (24 hours
    /// from the payment), one that clears a served notice withdraws it. Only the customers with an
    /// open case are followed up (one look-up for the chunk), their lines in payment order. As at
    /// the counter, the payments stand whatever happens here; a failure is logged and the next
    /// daily pass takes the step, with the same deadline.
    async fn after_payments(
        &self,
        part: &[Pending<'_>],
        customers: &HashMap<String, Customer>,
        results: &[Option<ResultLine>],
    ) -> AppResult<()> {
        let posted: Vec<&BankPayment> = part
            .iter()
            .filter(|(i, _)| matches!(&results[*i], Some(r) if r.status == LineStatus::Posted))
            .map(|(_, p)| *p)
            .collect();
        let mut ids: Vec<String> = posted.iter().map(|p| p.account.as_str().to_string()).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(());
        }
        let open = match self.store.customers_with_open_case(&ids).await {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "arrears follow-up of a bank file: the open cases could not be read");
                return Ok(());
            }
        };
        if open.is_empty() {
            return Ok(());
        }
        let mut follow: Vec<(jiff::Timestamp, &BankPayment)> = posted
            .into_iter()
            .filter(|p| open.binary_search_by(|c| c.as_str().cmp(p.account.as_str())).is_ok())
            .map(|p| (ledger_instant(p.paid_at), p))
            .collect();
        follow.sort_by(|a, b| (a.0, a.1.account.as_str()).cmp(&(b.0, b.1.account.as_str())));
        let rules = bureau_domain::arrears::ArrearsRules::builtin();
        for (at, p) in follow {
            let customer = &customers[p.account.as_str()];
            if let Err(e) =
                crate::arrears::after_payment(self.store, rules, &self.actor.staff_id, customer, at).await
            {
                tracing::warn!(account = %p.account.as_str(), error = %e, "arrears follow-up of a bank payment failed");
            }
        }
        Ok(())
    }

    /// Answers the lines whose key was posted before (a duplicate, or a conflict when the key was
    /// used for another account or amount); returns the others.
    async fn settle_posted_keys<'p>(
        &self,
        pending: Vec<Pending<'p>>,
        results: &mut [Option<ResultLine>],
    ) -> AppResult<Vec<Pending<'p>>> {
        let keys: Vec<String> = pending.iter().map(|(_, p)| p.key.as_str().to_string()).collect();
        let prior: HashMap<String, CustomerEntry> = self
            .store
            .entries_with_keys(&keys)
            .await?
            .into_iter()
            .filter_map(|c| match &c.entry.kind {
                EntryKind::Payment { key, .. } => Some((key.as_str().to_string(), c)),
                _ => None,
            })
            .collect();
        if prior.is_empty() {
            return Ok(pending);
        }
        let mut rest = Vec::with_capacity(pending.len());
        for (i, p) in pending {
            match prior.get(p.key.as_str()) {
                None => rest.push((i, p)),
                Some(c) => results[i] = Some(self.answer_prior(i, p, c)),
            }
        }
        Ok(rest)
    }

    fn answer_prior(&self, i: usize, p: &BankPayment, c: &CustomerEntry) -> ResultLine {
        let EntryKind::Payment { amount, key } = &c.entry.kind else { unreachable!("filtered to payments") };
        let prior = AccountNo::parse("account_no", &c.customer_id).map(|account| PriorPayment {
            key: key.clone(),
            entry: c.entry.id.clone(),
            account,
            amount: *amount,
        });
        let req = PaymentRequest { key: p.key.clone(), account: p.account.clone(), amount: p.amount };
        let decided = prior.and_then(|prior| classify_submission([&prior], &req));
        match decided {
            Ok(Submission::Duplicate { entry }) => {
                ResultLine::accepted(self.lines[i].line, p, LineStatus::Duplicate, entry)
            }
            Ok(Submission::New) => ResultLine::rejected(&self.lines[i], &[conflict(p)]),
            Err(e) => ResultLine::rejected(&self.lines[i], &[e]),
        }
    }

    /// Reads the ledgers of the lines' accounts and decides each payment (with its late fees) on
    /// them: a group per account, in account order (so that two uploads lock ledgers in the same
    /// order), each account's lines in file order.
    async fn decide<'p>(
        &self,
        pending: Vec<Pending<'p>>,
        customers: &HashMap<String, Customer>,
    ) -> AppResult<Round<'p>> {
        let mut ids: Vec<String> = pending.iter().map(|(_, p)| p.account.as_str().to_string()).collect();
        ids.sort_unstable();
        ids.dedup();
        let ledgers = self.store.open_ledgers_of(&ids).await?;
        self.decide_on(pending, customers, ledgers)
    }

    /// Decides the lines on the ledgers read for them (ledgers of other accounts are ignored): a
    /// group per account, each matched to its own ledger by account number.
    fn decide_on<'p>(
        &self,
        pending: Vec<Pending<'p>>,
        customers: &HashMap<String, Customer>,
        ledgers: Vec<OpenLedger>,
    ) -> AppResult<Round<'p>> {
        let mut by_account: BTreeMap<&str, Vec<Pending<'p>>> = BTreeMap::new();
        for (i, p) in pending {
            by_account.entry(p.account.as_str()).or_default().push((i, p));
        }
        let accounts = by_account.len();
        let mut groups = Vec::with_capacity(accounts);
        let mut decided = Vec::with_capacity(accounts);
        for ledger in ledgers {
            let Some(lines) = by_account.remove(ledger.customer_id.as_str()) else { continue };
            let customer = &customers[ledger.customer_id.as_str()];
            let class = LateFeeClass::from(customer.class);
            let mut entries = ledger.entries;
            let mut new_entries: Vec<Entry> = Vec::new();
            let mut ids = Vec::with_capacity(lines.len());
            let several = lines.len() > 1;
            for (i, p) in lines {
                let payment = NewPayment {
                    customer: customer.clone(),
                    amount: p.amount,
                    key: p.key.clone(),
                    channel: p.channel,
                    by: self.actor.staff_id.clone(),
                    reason: self.reason(p.channel),
                    at: ledger_instant(p.paid_at),
                };
                let id = EntryId(crate::outbox::new_id("pay-"));
                let made = payment_entries(&entries, self.rules, class, &payment, id.clone());
                if several {
                    // The next line of this account is decided on the ledger as it will be stored
                    // (in posting order), not on the order of the file.
                    entries.extend(made.iter().cloned());
                    entries.sort_by(bureau_domain::ledger::posting_order);
                }
                new_entries.extend(made);
                ids.push((i, p, id));
            }
            if !several {
                entries.extend(new_entries.iter().cloned());
                entries.sort_by(bureau_domain::ledger::posting_order);
            }
            let settle_through = next_mark(ledger.settled_through.as_ref(), &entries, &new_entries);
            groups.push(EntryGroup {
                customer_id: ledger.customer_id,
                expected_version: ledger.version,
                entries: new_entries,
                settle_through,
            });
            decided.push(ids);
        }
        if let Some(account) = by_account.keys().next() {
            // Every account asked for has a ledger (an empty one when it has no entries): a
            // missing one is the store's fault, and its lines must not be decided on nothing.
            return Err(AppError::Store(bureau_store::StoreError::Database(format!(
                "the ledger of {account} was not read"
            ))));
        }
        Ok(Round { groups, lines: decided })
    }

    /// Answers the lines of the groups posted; returns the lines to try again (their ledger moved,
    /// or one of their keys was posted before), and whether any group came back as a duplicate.
    fn settle<'p>(
        &self,
        round: Round<'p>,
        outcomes: Vec<Posted>,
        results: &mut [Option<ResultLine>],
    ) -> (Vec<Pending<'p>>, bool) {
        let mut again = Vec::new();
        let mut duplicates = false;
        for (outcome, lines) in outcomes.into_iter().zip(round.lines) {
            match outcome {
                Posted::Done { .. } => {
                    for (i, p, id) in lines {
                        results[i] =
                            Some(ResultLine::accepted(self.lines[i].line, p, LineStatus::Posted, id));
                    }
                }
                Posted::Stale => again.extend(lines.into_iter().map(|(i, p, _)| (i, p))),
                Posted::Duplicate { .. } => {
                    duplicates = true;
                    again.extend(lines.into_iter().map(|(i, p, _)| (i, p)));
                }
            }
        }
        (again, duplicates)
    }
}

/// A chunk read and decided, its first round not yet written.
struct Prepared<'p> {
    part: &'p [Pending<'p>],
    customers: HashMap<String, Customer>,
    /// Lines whose account is unknown (or outside the actor's bureaus).
    unknown: Vec<Pending<'p>>,
    round: Round<'p>,
}

/// One round decided: a group per account, and each group's lines with their new payment ids.
struct Round<'p> {
    groups: Vec<EntryGroup>,
    lines: Vec<Vec<(usize, &'p BankPayment, EntryId)>>,
}

fn conflict(p: &BankPayment) -> FieldError {
    FieldError::new(
        "bank_ref",
        "conflict",
        format!("银行流水号 {} 已用于另一笔缴费", p.bank_ref),
        format!("bank_ref {} was already used for a different payment", p.bank_ref),
    )
}
