//! A route's protections where it is written: hovering a route registration or its handler's
//! signature shows the route's row of `portcullis routes`.

use crate::model::Model;
use crate::report::routes::{row, RouteRow};
use crate::source::{Loc, SourceFile};
use std::path::{Path, PathBuf};

/// Where a route can be hovered: its registration, and the first line of its handler.
pub struct RouteSpot {
    pub registration: (PathBuf, std::ops::Range<usize>),
    pub handler: Option<(PathBuf, std::ops::Range<usize>)>,
    pub row: RouteRow,
}

fn place(loc: Loc, files: &[SourceFile]) -> Option<(PathBuf, std::ops::Range<usize>)> {
    let f = files.get(loc.file as usize)?;
    Some((
        f.path.clone(),
        loc.span.start as usize..loc.span.end as usize,
    ))
}

pub fn spots(model: &Model, files: &[SourceFile]) -> Vec<RouteSpot> {
    model
        .routes
        .iter()
        .filter_map(|r| {
            let handler = r.handler_loc.and_then(|l| {
                let (path, span) = place(l, files)?;
                // The signature, not the whole body: hovering inside a handler is about its code.
                let text = &files[l.file as usize].text;
                let end = text[span.start.min(text.len())..]
                    .find('\n')
                    .map_or(span.end, |i| (span.start + i).min(span.end));
                Some((path, span.start..end))
            });
            Some(RouteSpot {
                registration: place(r.loc, files)?,
                handler,
                row: row(model, r, files),
            })
        })
        .collect()
}

/// The rows of the routes registered or handled at a byte offset of a file: the innermost
/// registration wins (a router chain holds every route's registration), the handler's line otherwise.
pub fn at<'s>(spots: &'s [RouteSpot], path: &Path, offset: usize) -> Vec<&'s RouteRow> {
    let hit = |(p, r): &(PathBuf, std::ops::Range<usize>)| p == path && r.contains(&offset);
    let registered: Vec<&RouteSpot> = spots.iter().filter(|s| hit(&s.registration)).collect();
    let innermost = registered.iter().map(|s| s.registration.1.len()).min();
    let mut rows: Vec<&RouteRow> = registered
        .iter()
        .filter(|s| Some(s.registration.1.len()) == innermost)
        .map(|s| &s.row)
        .collect();
    if rows.is_empty() {
        rows = spots
            .iter()
            .filter(|s| s.handler.as_ref().is_some_and(hit))
            .map(|s| &s.row)
            .collect();
    }
    rows
}

/// The hover text: one block per route.
pub fn markdown(rows: &[&RouteRow]) -> String {
    rows.iter()
        .map(|r| {
            let listeners = if r.listeners.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.listeners.join(", "))
            };
            format!(
                "**{} {}** → `{}` ({})\n\n\
                 | | |\n|---|---|\n\
                 | authentication | {} |\n| rate limit | {} |\n| cache | {} |\n\
                 | input validation | {} |\n| body limit | {} |\n| TLS | {}{} |\n",
                r.methods.join(","),
                r.path,
                r.handler,
                r.framework,
                r.auth,
                if r.rate_limit { "yes" } else { "no" },
                r.cache,
                r.input,
                r.body_limit,
                r.tls,
                listeners
            )
        })
        .collect::<Vec<_>>()
        .join("\n---\n\n")
}
