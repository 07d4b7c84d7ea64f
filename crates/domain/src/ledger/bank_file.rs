//! Bank batch files (银行批量代扣/代收文件): payments in, one result per line out.
//!
//! A bank that debits customers' accounts for the bureau (代扣) or collects payments at its
//! branches (代收) sends a batch file; the bureau posts each line as a payment and answers with a
//! result file, one line per input line. This is our own format (no national standard exists;
//! each bank's own layout is converted to it by the bank interface):
//!
//! **Input**: UTF-8 (a byte-order mark is allowed), lines ended by LF or CRLF, fields separated by
//! commas, a field that holds a comma or a quote is quoted `"..."` with inner quotes doubled (RFC
//! 4180; a field may not span lines). The first line names the columns, in any order, in English
//! or Chinese:
//!
//! | column | 列名 | content |
//! |---|---|---|
//! | `account_no` | `户号` | the customer's account number, 4–20 letters or digits |
//! | `amount` | `金额` | yuan, positive, at most 2 decimals, e.g. `120.50` |
//! | `paid_at` | `交易时间` | Beijing time `YYYY-MM-DD HH:MM:SS`, or a date `YYYY-MM-DD` (taken as 00:00) |
//! | `bank_ref` | `银行流水号` | the bank's unique reference of the transaction, 1–64 visible ASCII |
//! | `mode` | `业务类型` | `withhold` / `代扣` or `collect` / `代收` |
//! | `note` | `备注` | optional, free text, ignored |
//!
//! Every line after the header becomes either a [`BankPayment`] or its errors (line number, field,
//! code, reason in both languages) in a [`BatchLine`]; no line is dropped (a blank line is an
//! error too; only the empty text after the final line end is not a line). A bad header refuses
//! the whole file. The idempotency key of a line is `bank:<bank code>:<bank_ref>`, so a file sent
//! twice posts once. A `bank_ref` repeated inside the file is an error on the later line.
//!
//! **Result**: same conventions, header `line,account_no,amount,bank_ref,status,code,message`,
//! one line per input line in input order; `status` is `posted`, `duplicate` (posted before: no
//! money moved this time) or `rejected` (with the error `code` and `message`, in the language
//! asked for).

use super::payment::{parse_amount, AmountLimits, IdempotencyKey};
use super::{Channel, EntryId};
use crate::calendar::beijing;
use crate::error::FieldError;
use crate::i18n::{Lang, Text};
use crate::money::Fen;
use crate::register::AccountNo;
use jiff::civil::{Date, DateTime};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;

/// A payment read from one line of a bank file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BankPayment {
    pub account: AccountNo,
    pub amount: Fen,
    pub paid_at: Timestamp,
    pub bank_ref: String,
    /// [`Channel::BankWithhold`] or [`Channel::BankCollect`].
    pub channel: Channel,
    pub key: IdempotencyKey,
}

/// One input line: its 1-based line number in the file, its text, and what it gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BatchLine {
    pub line: usize,
    pub raw: String,
    /// The account, amount and bank reference cells as written (empty when the line could not be
    /// split), for the result file.
    pub cells: [String; 3],
    pub result: Result<BankPayment, Vec<FieldError>>,
}

/// A refused file: its header is wrong, so no line can be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("line {line}: {}", error.message.en)]
pub struct BatchFileError {
    pub line: usize,
    pub error: FieldError,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Col {
    Account,
    Amount,
    PaidAt,
    BankRef,
    Mode,
    Note,
}

const COLUMNS: &[(Col, &str, &str, bool)] = &[
    (Col::Account, "account_no", "户号", true),
    (Col::Amount, "amount", "金额", true),
    (Col::PaidAt, "paid_at", "交易时间", true),
    (Col::BankRef, "bank_ref", "银行流水号", true),
    (Col::Mode, "mode", "业务类型", true),
    (Col::Note, "note", "备注", false),
];

fn col_name(c: Col) -> &'static str {
    COLUMNS.iter().find(|x| x.0 == c).map(|x| x.1).unwrap_or("")
}

/// Splits one line into fields (RFC 4180 quoting, within the line).
pub fn split_fields(line: &str) -> Result<Vec<String>, FieldError> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut at_start = true;
    loop {
        if at_start && chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(FieldError::invalid("line", "引号未闭合", "a quoted field is not closed"))
                    }
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        cur.push('"');
                    }
                    Some('"') => break,
                    Some(c) => cur.push(c),
                }
            }
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut cur));
                    return Ok(fields);
                }
                Some(',') => {
                    fields.push(std::mem::take(&mut cur));
                    at_start = true;
                    continue;
                }
                Some(_) => {
                    return Err(FieldError::invalid(
                        "line",
                        "引号字段后应紧跟逗号",
                        "a quoted field must be followed by a comma",
                    ))
                }
            }
        }
        at_start = false;
        match chars.next() {
            None => {
                fields.push(cur);
                return Ok(fields);
            }
            Some(',') => {
                fields.push(std::mem::take(&mut cur));
                at_start = true;
            }
            Some('"') => {
                return Err(FieldError::invalid(
                    "line",
                    "未加引号的字段中不能有引号",
                    "a quote inside an unquoted field",
                ))
            }
            Some(c) => cur.push(c),
        }
    }
}

/// Quotes a field for a CSV line when it needs it.
pub fn quote_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn parse_paid_at(text: &str) -> Result<Timestamp, FieldError> {
    let t = text.trim();
    let bad = || {
        FieldError::invalid(
            "paid_at",
            format!("交易时间应为 YYYY-MM-DD HH:MM:SS 或 YYYY-MM-DD（北京时间）：{t}"),
            format!("paid_at is YYYY-MM-DD HH:MM:SS or YYYY-MM-DD (Beijing time): {t}"),
        )
    };
    if t.is_empty() {
        return Err(FieldError::required("paid_at"));
    }
    let dt: DateTime = if t.len() == 10 {
        t.parse::<Date>().map_err(|_| bad())?.to_datetime(jiff::civil::Time::midnight())
    } else if t.len() == 19 && t.as_bytes()[10] == b' ' {
        t.replacen(' ', "T", 1).parse::<DateTime>().map_err(|_| bad())?
    } else {
        return Err(bad());
    };
    beijing::instant(dt).map_err(|_| bad())
}

fn parse_mode(text: &str) -> Result<Channel, FieldError> {
    match text.trim() {
        "withhold" | "代扣" => Ok(Channel::BankWithhold),
        "collect" | "代收" => Ok(Channel::BankCollect),
        "" => Err(FieldError::required("mode")),
        t => Err(FieldError::invalid(
            "mode",
            format!("业务类型应为 代扣/withhold 或 代收/collect：{t}"),
            format!("mode is withhold/代扣 or collect/代收: {t}"),
        )),
    }
}

fn parse_bank_ref(text: &str) -> Result<String, FieldError> {
    let t = crate::error::required("bank_ref", text)?;
    if t.len() > 64 || !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::invalid(
            "bank_ref",
            format!("银行流水号应为1至64个可见ASCII字符：{t}"),
            format!("bank_ref is 1 to 64 visible ASCII characters: {t}"),
        ));
    }
    Ok(t.to_string())
}

fn read_header(line: &str) -> Result<Vec<Col>, FieldError> {
    let names = split_fields(line).map_err(|e| FieldError { field: "header".into(), ..e })?;
    let mut cols = Vec::new();
    for n in &names {
        let n = n.trim();
        let Some(c) = COLUMNS.iter().find(|c| c.1 == n || c.2 == n) else {
            let known: Vec<&str> = COLUMNS.iter().map(|c| c.1).collect();
            return Err(FieldError::new(
                "header",
                "unknown",
                format!("未知的列“{n}”，可用列：{}", known.join(", ")),
                format!("unknown column '{n}', expected: {}", known.join(", ")),
            ));
        };
        if cols.contains(&c.0) {
            return Err(FieldError::new(
                "header",
                "duplicate",
                format!("列“{n}”重复"),
                format!("column '{n}' appears twice"),
            ));
        }
        cols.push(c.0);
    }
    for c in COLUMNS.iter().filter(|c| c.3) {
        if !cols.contains(&c.0) {
            return Err(FieldError::new(
                "header",
                "required",
                format!("缺少列 {}（{}）", c.1, c.2),
                format!("missing column {} ({})", c.1, c.2),
            ));
        }
    }
    Ok(cols)
}

/// Reads a bank batch file from bank `bank` (the bank's code, e.g. `ICBC`, from the transfer's
/// metadata, not the file). Every line after the header gives one [`BatchLine`].
pub fn parse_batch(bank: &str, text: &str, limits: &AmountLimits) -> Result<Vec<BatchLine>, BatchFileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let bank =
        crate::register::parse_code("bank", bank).map_err(|error| BatchFileError { line: 0, error })?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let header = lines.next().unwrap_or("");
    let cols = read_header(header).map_err(|error| BatchFileError { line: 1, error })?;
    let mut body: Vec<&str> = lines.collect();
    if body.last() == Some(&"") {
        body.pop();
    }
    let mut seen: HashMap<String, (usize, AccountNo, Fen)> = HashMap::new();
    let mut out = Vec::with_capacity(body.len());
    for (i, raw) in body.into_iter().enumerate() {
        let line = i + 2;
        let result = parse_line(&bank, &cols, raw, limits).and_then(|p| match seen.get(&p.bank_ref) {
            Some((first, account, amount)) => {
                let same = *account == p.account && *amount == p.amount;
                let (code, zh, en) = if same {
                    ("duplicate", "与第 {n} 行重复", "the same payment as line {n}")
                } else {
                    (
                        "conflict",
                        "银行流水号已在第 {n} 行用于另一笔缴费",
                        "bank_ref already used by a different payment on line {n}",
                    )
                };
                Err(vec![FieldError::new(
                    "bank_ref",
                    code,
                    zh.replace("{n}", &first.to_string()),
                    en.replace("{n}", &first.to_string()),
                )])
            }
            None => {
                seen.insert(p.bank_ref.clone(), (line, p.account.clone(), p.amount));
                Ok(p)
            }
        });
        let cells = split_fields(raw)
            .ok()
            .filter(|f| f.len() == cols.len())
            .map(|f| {
                let get = |c: Col| {
                    cols.iter().position(|x| *x == c).map(|i| f[i].trim().to_string()).unwrap_or_default()
                };
                [get(Col::Account), get(Col::Amount), get(Col::BankRef)]
            })
            .unwrap_or_default();
        out.push(BatchLine { line, raw: raw.to_string(), cells, result });
    }
    Ok(out)
}

fn parse_line(
    bank: &str,
    cols: &[Col],
    raw: &str,
    limits: &AmountLimits,
) -> Result<BankPayment, Vec<FieldError>> {
    if raw.trim().is_empty() {
        return Err(vec![FieldError::new("line", "empty", "空行", "an empty line")]);
    }
    let fields = split_fields(raw).map_err(|e| vec![e])?;
    if fields.len() != cols.len() {
        return Err(vec![FieldError::new(
            "line",
            "columns",
            format!("应有 {} 列，实有 {} 列", cols.len(), fields.len()),
            format!("expected {} columns, found {}", cols.len(), fields.len()),
        )]);
    }
    let get = |c: Col| cols.iter().position(|x| *x == c).map(|i| fields[i].as_str()).unwrap_or("");
    let mut errors = Vec::new();
    let account = keep(&mut errors, AccountNo::parse(col_name(Col::Account), get(Col::Account)));
    let amount = keep(&mut errors, parse_amount(col_name(Col::Amount), get(Col::Amount), limits));
    let paid_at = keep(&mut errors, parse_paid_at(get(Col::PaidAt)));
    let bank_ref = keep(&mut errors, parse_bank_ref(get(Col::BankRef)));
    let channel = keep(&mut errors, parse_mode(get(Col::Mode)));
    match (account, amount, paid_at, bank_ref, channel) {
        (Some(account), Some(amount), Some(paid_at), Some(bank_ref), Some(channel)) if errors.is_empty() => {
            let key =
                IdempotencyKey::parse("bank_ref", &format!("bank:{bank}:{bank_ref}")).map_err(|e| vec![e])?;
            Ok(BankPayment { account, amount, paid_at, bank_ref, channel, key })
        }
        _ => Err(errors),
    }
}

fn keep<T>(errors: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// The outcome of a line, for the result file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Posted,
    Duplicate,
    Rejected,
}

impl LineStatus {
    pub fn code(self) -> &'static str {
        match self {
            LineStatus::Posted => "posted",
            LineStatus::Duplicate => "duplicate",
            LineStatus::Rejected => "rejected",
        }
    }
}

/// One line of the result file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResultLine {
    pub line: usize,
    /// As in the input (the raw text when the line could not be read).
    pub account_no: String,
    pub amount: String,
    pub bank_ref: String,
    pub status: LineStatus,
    /// Empty when posted; the error code otherwise (the first error's when several).
    pub code: String,
    pub message: Text,
    /// The ledger entry posted (or posted earlier, for a duplicate).
    pub entry: Option<EntryId>,
}

impl ResultLine {
    /// The result of a line the app posted (`Duplicate` when its key was posted before).
    pub fn accepted(line: usize, p: &BankPayment, status: LineStatus, entry: EntryId) -> ResultLine {
        let message = match status {
            LineStatus::Duplicate => {
                Text::new("已入账（重复提交，未重复扣款）", "already posted (a repeat, nothing moved)")
            }
            _ => Text::new("已入账", "posted"),
        };
        ResultLine {
            line,
            account_no: p.account.as_str().to_string(),
            amount: p.amount.to_string(),
            bank_ref: p.bank_ref.clone(),
            status,
            code: String::new(),
            message,
            entry: Some(entry),
        }
    }

    /// The result of a line refused, by the file check (`errors` of [`BatchLine`]) or by the app
    /// (e.g. an unknown account).
    pub fn rejected(line: &BatchLine, errors: &[FieldError]) -> ResultLine {
        let (account_no, amount, bank_ref) = match &line.result {
            Ok(p) => (p.account.as_str().to_string(), p.amount.to_string(), p.bank_ref.clone()),
            Err(_) => (line.cells[0].clone(), line.cells[1].clone(), line.cells[2].clone()),
        };
        let zh: Vec<String> = errors.iter().map(|e| format!("{}：{}", e.field, e.message.zh)).collect();
        let en: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message.en)).collect();
        ResultLine {
            line: line.line,
            account_no,
            amount,
            bank_ref,
            status: LineStatus::Rejected,
            code: errors.first().map(|e| e.code.to_string()).unwrap_or_default(),
            message: Text::new(zh.join("；"), en.join("; ")),
            entry: None,
        }
    }

    /// The line as written to the result file (no line end).
    pub fn format(&self, lang: Lang) -> String {
        [
            self.line.to_string(),
            self.account_no.clone(),
            self.amount.clone(),
            self.bank_ref.clone(),
            self.status.code().to_string(),
            self.code.clone(),
            self.message.get(lang).to_string(),
        ]
        .iter()
        .map(|f| quote_field(f))
        .collect::<Vec<_>>()
        .join(",")
    }
}

/// The header of the result file.
pub const RESULT_HEADER: &str = "line,account_no,amount,bank_ref,status,code,message";

/// The whole result file: the header and one line per result, each ended by `\n`.
pub fn format_results(results: &[ResultLine], lang: Lang) -> String {
    let mut out = String::with_capacity(64 * (results.len() + 1));
    out.push_str(RESULT_HEADER);
    out.push('\n');
    for r in results {
        out.push_str(&r.format(lang));
        out.push('\n');
    }
    out
}
