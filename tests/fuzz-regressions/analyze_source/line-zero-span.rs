use axum::routing::get;
use axum::Router;

async fn metrics() -> String {
    String::from("# HELP accounts_logins_total Logins\n")
}

pub fn router() -> Router {
    Router::new().route("/metrics", get(metrics))
}
