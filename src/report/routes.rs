//! `portcullis routes`: every route with what protects it, the map a reviewer wants before reading code.

use crate::model::{Model, Route};
use crate::source::SourceFile;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct RouteRow {
    pub package: String,
    pub framework: String,
    pub methods: Vec<String>,
    pub path: String,
    pub handler: String,
    /// `file:line` of the handler, or of the route when the handler is not in the crate.
    pub handler_at: String,
    /// `enforced`, `conditional`, `optional` or `none`, with where it comes from.
    pub auth: String,
    pub rate_limit: bool,
    /// Effective Cache-Control (`-` for none), and whether shared caches or a server cache store it.
    pub cache: String,
    /// `none` (no body or query input), `validated`, or `unvalidated` (some input is not validated).
    pub input: String,
    /// The body-limit middleware around the route, or `default` (the framework's).
    pub body_limit: String,
    /// `on`, `off`, `local`, `mixed` over the listeners serving the route, `unserved` when none does.
    pub tls: String,
    /// The addresses of the listeners serving the route (whichever package binds them).
    pub listeners: Vec<String>,
}

fn at(route: &Route, files: &[SourceFile]) -> String {
    let loc = route.handler_loc.unwrap_or(route.loc);
    format!("{}:{}", files[loc.file as usize].display, loc.span.line)
}

/// One route's row: what protects it, as the model says.
pub fn row(model: &Model, r: &Route, files: &[SourceFile]) -> RouteRow {
    let inputs: Vec<_> = model
        .inputs
        .iter()
        .filter(|i| i.handler == r.handler && i.path == r.path && i.package == r.package)
        // Path segments are routing, not payloads: what `unvalidated-input` checks is bodies and
        // query strings.
        .filter(|i| matches!(i.kind.as_str(), "json" | "form" | "query" | "body"))
        .collect();
    let input = if inputs.is_empty() {
        "none".to_string()
    } else if inputs.iter().all(|i| i.validated || !i.free_form) {
        "validated".to_string()
    } else {
        let bad: Vec<String> = inputs
            .iter()
            .filter(|i| !i.validated && i.free_form)
            .map(|i| i.extractor.clone())
            .collect();
        format!("unvalidated ({})", bad.join(", "))
    };
    let auth = if r.auth.sources.is_empty() {
        r.auth.status.clone()
    } else {
        format!("{} ({})", r.auth.status, r.auth.sources.join(", "))
    };
    let mut cache = if r.cache.directives.is_empty() {
        "-".to_string()
    } else {
        r.cache.directives.clone()
    };
    if r.cache.shared {
        cache.push_str(" [shared]");
    }
    if r.cache.server {
        cache.push_str(" [server cache]");
    }
    let body_limit = r
        .middleware
        .iter()
        .find(|m| m.capability == "body-limit")
        .map(|m| m.name.clone())
        .unwrap_or_else(|| "default".into());
    let serving: Vec<&crate::model::Listener> = r
        .app
        .and_then(|a| model.apps.get(a))
        .map(|app| {
            app.listeners
                .iter()
                .filter_map(|l| model.listeners.get(*l))
                .collect()
        })
        .unwrap_or_default();
    let tls = match serving.as_slice() {
        [] => "unserved".into(),
        _ => {
            let mut modes: Vec<&str> = serving.iter().map(|l| l.tls.as_str()).collect();
            modes.sort();
            modes.dedup();
            match modes.as_slice() {
                [one] => one.to_string(),
                _ => format!("mixed ({})", modes.join(", ")),
            }
        }
    };
    let mut listeners: Vec<String> = serving.iter().map(|l| l.address.clone()).collect();
    listeners.sort();
    listeners.dedup();
    RouteRow {
        package: r.package.clone(),
        framework: r.framework.clone(),
        methods: r.methods.clone(),
        path: r.path.clone(),
        handler: r.handler.clone(),
        handler_at: at(r, files),
        auth,
        rate_limit: r.rate_limit.limited,
        cache,
        input,
        body_limit,
        tls,
        listeners,
    }
}

pub fn rows(model: &Model, files: &[SourceFile]) -> Vec<RouteRow> {
    let mut out: Vec<RouteRow> = model.routes.iter().map(|r| row(model, r, files)).collect();
    out.sort_by(|a, b| {
        (&a.package, &a.path, &a.methods, &a.handler_at).cmp(&(
            &b.package,
            &b.path,
            &b.methods,
            &b.handler_at,
        ))
    });
    out
}

/// A plain table, one route a line, columns padded.
pub fn table(rows: &[RouteRow]) -> String {
    let header = [
        "METHOD",
        "PATH",
        "HANDLER",
        "AUTH",
        "RATE-LIMIT",
        "CACHE",
        "INPUT",
        "BODY-LIMIT",
        "TLS",
        "LISTENER",
    ];
    let cells: Vec<[String; 10]> = rows
        .iter()
        .map(|r| {
            [
                r.methods.join(","),
                r.path.clone(),
                format!("{} ({})", r.handler, r.handler_at),
                r.auth.clone(),
                if r.rate_limit { "yes" } else { "no" }.to_string(),
                r.cache.clone(),
                r.input.clone(),
                r.body_limit.clone(),
                r.tls.clone(),
                if r.listeners.is_empty() {
                    "-".to_string()
                } else {
                    r.listeners.join(", ")
                },
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for c in &cells {
        for (i, v) in c.iter().enumerate() {
            widths[i] = widths[i].max(v.chars().count());
        }
    }
    let line = |vals: Vec<&str>| -> String {
        let mut s = String::new();
        for (i, v) in vals.iter().enumerate() {
            if i + 1 == vals.len() {
                s.push_str(v);
            } else {
                s.push_str(&format!("{v:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    let mut package = None;
    for (r, c) in rows.iter().zip(&cells) {
        if package != Some(&r.package) && rows.iter().any(|o| o.package != r.package) {
            out.push_str(&format!("# {} ({})\n", r.package, r.framework));
            package = Some(&r.package);
        }
        out.push_str(&line(c.iter().map(String::as_str).collect()));
    }
    out
}
