//! The bank batch page (银行批量代扣/代收) for counter staff: upload a bank's file, see what its
//! lines gave (the rejected ones listed with field and reason) and download the result file; and
//! the files posted before. The posting is `bureau_app::payments::post_bank_batch`, as for the API
//! and `bureau bank post`.

use super::{error_page, here, render, view, UserView};
use crate::api::payments::{
    bank_batch_record_view, bank_batch_view, late_fee_rules, BankBatchRecordView, BankBatchView,
};
use crate::auth::{urlencode, PageStaff};
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bureau_app::payments;
use bureau_app::AppError;
use bureau_domain::i18n::Lang;
use bureau_domain::ledger::bank_file::format_results;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/counter/bank",
            get(bank_form).post(upload).layer(DefaultBodyLimit::max(crate::api::payments::BANK_FILE_LIMIT)),
        )
        .route("/counter/bank/{id}/result.csv", get(result_file))
}

/// The result file of a batch posted before (in the user's language), as a download.
async fn result_file(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    Path(id): Path<String>,
) -> Response {
    match payments::bank_batch_result(&state.store, &user.actor, &id, user.lang).await {
        Ok(csv) => crate::api::payments::result_download(&id, csv),
        Err(e) => error_page(&e, user.lang),
    }
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("bank.title", "银行批量代扣/代收", "Bank batch files"),
    ("bank.bank", "银行代码", "Bank code"),
    ("bank.file", "银行文件（CSV）", "Bank file (CSV)"),
    ("bank.submit", "入账", "Post"),
    ("bank.lines", "行数", "Lines"),
    ("bank.posted", "入账", "Posted"),
    ("bank.duplicate", "重复（未重复入账）", "Duplicate (nothing moved)"),
    ("bank.rejected", "拒绝", "Rejected"),
    ("bank.amount", "入账金额（元）", "Amount posted (yuan)"),
    ("bank.download", "下载回盘文件", "Download the result file"),
    ("bank.line", "行号", "Line"),
    ("bank.account", "户号", "Account"),
    ("bank.ref", "银行流水号", "Bank reference"),
    ("bank.reason", "原因", "Reason"),
    ("bank.history", "已入账批次", "Batches posted"),
    ("bank.when", "时间", "When"),
    ("bank.by", "操作员", "By"),
    ("bank.file_name", "文件", "File"),
    ("bank.none", "尚无批次", "No batches yet"),
    ("bank.result", "回盘文件", "Result file"),
    (
        "bank.more",
        "仅列出前 200 条拒绝行，全部见回盘文件",
        "Only the first 200 rejected lines are listed; the result file has them all",
    ),
];

/// Rejected lines shown on the page; the result file has every line.
const SHOWN: usize = 200;

#[derive(Template)]
#[template(path = "bank.html")]
struct BankPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    bank: String,
    result: Option<BankBatchView>,
    rejected: Vec<(usize, String, String, String)>,
    more: bool,
    /// The result file as a `data:` URL, for the download link.
    download: String,
    history: Vec<BankBatchRecordView>,
    errors: Vec<String>,
}

async fn page(
    state: &AppState,
    user: &crate::auth::StaffUser,
    uri: &Uri,
    bank: String,
    result: Option<payments::BankBatchResult>,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let history = match payments::bank_batches(&state.store, &user.actor, 20).await {
        Ok(list) => list.iter().map(bank_batch_record_view).collect(),
        Err(e) => return error_page(&e, user.lang),
    };
    let download = result.as_ref().map_or_else(String::new, |r| {
        format!("data:text/csv;charset=utf-8,{}", urlencode(&format_results(&r.results, user.lang)))
    });
    let view_of = result.as_ref().map(|r| bank_batch_view(r, user.lang));
    let all_rejected: Vec<(usize, String, String, String)> = view_of
        .iter()
        .flat_map(|v| v.results.iter())
        .filter(|l| l.status == "rejected")
        .map(|l| (l.line, l.account_no.clone(), l.bank_ref.clone(), l.message.clone()))
        .collect();
    let more = all_rejected.len() > SHOWN;
    let rejected = all_rejected.into_iter().take(SHOWN).collect();
    let result = view_of.map(|mut v| {
        v.results.clear();
        v
    });
    render(
        BankPage {
            t: Tr::new(user.lang),
            user: view(user),
            here: here(uri),
            bank,
            result,
            rejected,
            more,
            download,
            history,
            errors,
        },
        status,
    )
}

async fn bank_form(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    if let Err(e) = user.actor.require_any(payments::COUNTER_ROLES) {
        return error_page(&e, user.lang);
    }
    page(&state, &user, &uri, String::new(), None, Vec::new(), StatusCode::OK).await
}

async fn upload(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    mut form: Multipart,
) -> Response {
    let lang = user.lang;
    let (mut bank, mut file, mut name) = (String::new(), None, String::new());
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("bank") => bank = field.text().await.unwrap_or_default(),
            Some("file") => {
                name = field.file_name().unwrap_or_default().to_string();
                file = field.bytes().await.ok();
            }
            _ => {}
        }
    }
    let fail = |msgs: Vec<String>| (msgs, StatusCode::UNPROCESSABLE_ENTITY);
    let outcome = match file.as_deref().map(std::str::from_utf8) {
        None => {
            Err(fail(vec![if lang == Lang::Zh { "file: 请选择文件" } else { "file: choose a file" }.into()]))
        }
        Some(Err(_)) => Err(fail(vec![if lang == Lang::Zh {
            "file: 文件不是 UTF-8 编码"
        } else {
            "file: the file is not UTF-8"
        }
        .into()])),
        Some(Ok(text)) => {
            let input = payments::BankBatchInput { bank: &bank, file_name: &name, text, chunk: 0 };
            match payments::post_bank_batch(&state.store, &user.actor, late_fee_rules(), &input).await {
                Ok(r) => Ok(r),
                Err(AppError::Invalid(errs)) => {
                    Err(fail(errs.iter().map(|e| format!("{}: {}", e.field, e.message(lang))).collect()))
                }
                Err(e) => return error_page(&e, lang),
            }
        }
    };
    match outcome {
        Ok(r) => page(&state, &user, &uri, bank, Some(r), Vec::new(), StatusCode::OK).await,
        Err((errors, status)) => page(&state, &user, &uri, bank, None, errors, status).await,
    }
}
