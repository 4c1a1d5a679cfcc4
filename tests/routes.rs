//! `portcullis routes`: every fixture's routes across frameworks with their protections (snapshot), and
//! the JSON form.

mod common;
use common::*;

#[test]
fn every_fixtures_routes_are_listed_with_their_protections() {
    let mut fixtures: Vec<String> = std::fs::read_dir(repo().join("fixtures"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    fixtures.sort();
    let mut all = String::new();
    for f in &fixtures {
        let out = run(&["routes", &format!("fixtures/{f}/")]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        all.push_str(&format!("== fixtures/{f}/\n{}", stdout(&out)));
    }
    let path = repo().join("tests/snapshots/routes.txt");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &all).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert!(
        expected == all,
        "routes differ from tests/snapshots/routes.txt (UPDATE_SNAPSHOTS=1 rewrites it):\n{all}"
    );
}

#[test]
fn routes_as_json_carry_each_protection() {
    let out = run(&["routes", "fixtures/axum-shop", "--format", "json"]);
    let rows = json(&out);
    let rows = rows.as_array().unwrap();
    let find = |m: &str, p: &str| {
        rows.iter()
            .find(|r| r["path"] == p && r["methods"].as_array().unwrap().iter().any(|x| x == m))
            .unwrap_or_else(|| panic!("no {m} {p}"))
    };
    let cart = find("GET", "/api/cart");
    assert_eq!(cart["auth"], "enforced (extractor)");
    assert_eq!(cart["rate_limit"], true);
    assert_eq!(cart["cache"], "public, max-age=60 [shared]");
    assert_eq!(cart["tls"], "off");
    assert!(cart["handler_at"]
        .as_str()
        .unwrap()
        .ends_with("src/handlers/cart.rs:25"));
    let orders = find("POST", "/api/orders");
    assert_eq!(orders["input"], "unvalidated (Json<NewOrder>)");
    let warp = json(&run(&["routes", "fixtures/warp-todos", "--format", "json"]));
    let create = warp
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/todos" && r["methods"][0] == "POST")
        .unwrap();
    assert_eq!(create["body_limit"], "warp::body::content_length_limit");
    assert_eq!(create["tls"], "on");
}
