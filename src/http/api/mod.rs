//! The JSON API under `/api/v1`.

mod consents;
mod notices;
mod receipts;

use axum::Router;
use axum::routing::{get, post};

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notices", get(notices::list_in_force))
        .route("/api/v1/consents", post(consents::create))
        .route("/api/v1/receipts/{token}", get(receipts::show))
        .route("/api/v1/receipts/{token}/withdraw", post(receipts::withdraw))
}
