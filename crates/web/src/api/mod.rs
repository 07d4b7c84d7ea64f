//! The JSON API under `/api/v1`. Every handler is registered through `routes!`, which puts it in the
//! router and in the OpenAPI document at once, so the document covers every endpoint.

pub mod arrears;
pub mod bill_exceptions;
pub mod billing;
mod dto;
mod funds;
mod grid;
pub mod payments;
pub mod portal;
mod register;
mod service;
mod session;

pub use dto::*;

use crate::AppState;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bureau API",
        description = "Power supply bureau (供电局): register, billing, service centre and grid. \
            Authenticate with POST /api/v1/login and send `Authorization: Bearer <token>`. \
            Errors: {\"error\": {\"code\", \"message\", \"field\", \"fields\"}} in the caller's language \
            (Accept-Language: zh or en). Money is a decimal string of yuan.",
        version = "1"
    ),
    components(schemas(crate::error::ErrorResponse)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(register::search_customers, register::create_customer))
        .routes(routes!(register::get_customer))
        .routes(routes!(register::exchange_meter))
        .routes(routes!(register::list_books))
        .routes(routes!(register::list_staff))
        .routes(routes!(register::list_org_units))
        .routes(routes!(register::import_csv))
        .routes(routes!(register::export_csv))
        .routes(routes!(grid::tree))
        .routes(routes!(grid::switch))
        .routes(routes!(grid::switch_ops))
        .routes(routes!(grid::report_call))
        .routes(routes!(grid::meter_events))
        .routes(routes!(grid::feeder_limits))
        .routes(routes!(grid::set_feeder_limit, grid::remove_feeder_limit))
        .routes(routes!(grid::active, grid::declare))
        .routes(routes!(grid::get_outage))
        .routes(routes!(grid::confirm))
        .routes(routes!(grid::etr))
        .routes(routes!(grid::restore))
        .routes(routes!(grid::close))
        .routes(routes!(grid::callback))
        .routes(routes!(grid::reliability))
        .routes(routes!(grid::create_plan, grid::list_plans))
        .routes(routes!(grid::get_plan))
        .routes(routes!(grid::notify_plan))
        .routes(routes!(grid::execute_plan))
        .routes(routes!(grid::switch_back_plan))
        .routes(routes!(billing::quote))
        .routes(routes!(billing::run))
        .routes(routes!(billing::run_job))
        .routes(routes!(billing::bills_of))
        .routes(routes!(billing::get_bill))
        .routes(routes!(billing::cancel))
        .routes(routes!(billing::reissue))
        .routes(routes!(billing::exceptions))
        .routes(routes!(billing::import_readings))
        .routes(routes!(funds::funds))
        .routes(routes!(bill_exceptions::queue))
        .routes(routes!(bill_exceptions::resolve))
        .routes(routes!(bill_exceptions::resolutions))
        .routes(routes!(service::accept, service::queue))
        .routes(routes!(service::warnings))
        .routes(routes!(service::get_order))
        .routes(routes!(service::act))
        .routes(routes!(service::sla_deadlines))
        .routes(routes!(service::report))
        .routes(routes!(service::set_roster, service::on_duty))
        .routes(routes!(service::roster, service::add_shift))
        .routes(routes!(service::end_shift))
        .routes(routes!(service::search_knowledge))
        .routes(routes!(service::list_articles, service::add_article))
        .routes(routes!(service::get_article, service::edit_article))
        .routes(routes!(service::retire_article))
        .routes(routes!(service::lookup))
        .routes(routes!(service::screen_pop, service::my_call))
        .routes(routes!(payments::account))
        .routes(routes!(payments::take_payment))
        .routes(routes!(payments::receipt))
        .routes(routes!(payments::reverse))
        .routes(routes!(payments::refund))
        .routes(routes!(payments::late_fee_quote))
        .merge(
            // A bank file is larger than the default body limit of other requests.
            OpenApiRouter::new()
                .routes(routes!(payments::bank_batch))
                .layer(axum::extract::DefaultBodyLimit::max(payments::BANK_FILE_LIMIT)),
        )
        .routes(routes!(payments::bank_batches))
        .routes(routes!(payments::bank_batch_result))
        .routes(routes!(portal::login))
        .routes(routes!(portal::request_code))
        .routes(routes!(portal::code_login))
        .routes(routes!(portal::logout))
        .routes(routes!(portal::set_password))
        .routes(routes!(portal::staff_set_password))
        .routes(routes!(portal::summary))
        .routes(routes!(portal::account))
        .routes(routes!(portal::payments))
        .routes(routes!(portal::bills))
        .routes(routes!(portal::bill))
        .routes(routes!(portal::consumption))
        .routes(routes!(portal::outages))
        .routes(routes!(portal::orders))
        .routes(routes!(portal::order))
        .routes(routes!(portal::text_query))
        .routes(routes!(arrears::run))
        .routes(routes!(arrears::cases))
        .routes(routes!(arrears::done))
        .routes(routes!(arrears::rates))
        .routes(routes!(arrears::aging))
        .routes(routes!(arrears::in_arrears))
}
