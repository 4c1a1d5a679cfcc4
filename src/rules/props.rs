//! The properties each rule target exposes, so that rule files are checked when they are loaded: a
//! misspelt property is an error pointing at it, not a rule that silently never fires. The README's
//! property reference lists the same names.

#[derive(Debug, Clone)]
pub enum Shape {
    Scalar,
    Loc,
    List(Box<Shape>),
    Object(Vec<(&'static str, Shape)>),
    /// Arbitrary JSON (configuration values).
    Any,
}

use Shape::*;

fn obj(fields: Vec<(&'static str, Shape)>) -> Shape {
    Object(fields)
}

fn list(s: Shape) -> Shape {
    List(Box::new(s))
}

fn evidence() -> Shape {
    list(obj(vec![("loc", Loc), ("note", Scalar)]))
}

pub const TARGETS: &[&str] = &[
    "route",
    "input",
    "handler",
    "type",
    "listener",
    "app",
    "call",
    "config",
    "auth_check",
    "advisory",
    "function",
    "suppression",
];

pub fn target_shape(target: &str) -> Option<Shape> {
    Some(match target {
        "route" => obj(vec![
            ("package", Scalar),
            ("framework", Scalar),
            ("methods", list(Scalar)),
            ("path", Scalar),
            ("handler", Scalar),
            ("handler_loc", Loc),
            ("changes_state", Scalar),
            ("verifies_password", evidence()),
            ("loc", Loc),
            (
                "middleware",
                list(obj(vec![
                    ("name", Scalar),
                    ("capability", Scalar),
                    ("tags", list(Scalar)),
                    ("loc", Loc),
                    ("directives", Scalar),
                    ("keys_identity", Scalar),
                    ("optional", Scalar),
                ])),
            ),
            (
                "auth",
                obj(vec![
                    ("status", Scalar),
                    ("sources", list(Scalar)),
                    ("evidence", evidence()),
                ]),
            ),
            (
                "rate_limit",
                obj(vec![("limited", Scalar), ("evidence", evidence())]),
            ),
            (
                "cache",
                obj(vec![
                    ("directives", Scalar),
                    ("shared", Scalar),
                    ("server", Scalar),
                    ("server_keys_identity", Scalar),
                    ("evidence", evidence()),
                ]),
            ),
            (
                "identity",
                obj(vec![("reads", Scalar), ("evidence", evidence())]),
            ),
            ("app", Scalar),
        ]),
        "input" => obj(vec![
            ("package", Scalar),
            ("language", Scalar),
            ("kind", Scalar),
            ("extractor", Scalar),
            ("type", Scalar),
            ("type_loc", Loc),
            ("binding", Scalar),
            ("handler", Scalar),
            ("methods", list(Scalar)),
            ("path", Scalar),
            ("free_form", Scalar),
            ("free_form_fields", list(Scalar)),
            ("validated", Scalar),
            ("validation", list(Scalar)),
            ("loc", Loc),
            ("evidence", evidence()),
        ]),
        "handler" => obj(vec![
            ("package", Scalar),
            ("name", Scalar),
            ("is_async", Scalar),
            ("loc", Loc),
            (
                "params",
                list(obj(vec![
                    ("binding", Scalar),
                    ("type", Scalar),
                    ("loc", Loc),
                ])),
            ),
            ("calls", list(Scalar)),
            ("cache_control", Scalar),
        ]),
        "type" => obj(vec![
            ("package", Scalar),
            ("name", Scalar),
            ("kind", Scalar),
            ("derives", list(Scalar)),
            ("attrs", list(Scalar)),
            (
                "fields",
                list(obj(vec![
                    ("name", Scalar),
                    ("type", Scalar),
                    ("attrs", list(Scalar)),
                    ("loc", Loc),
                ])),
            ),
            ("loc", Loc),
        ]),
        "listener" => obj(vec![
            ("package", Scalar),
            ("framework", Scalar),
            ("loc", Loc),
            ("address", Scalar),
            ("host", Scalar),
            ("port", Scalar),
            ("host_kind", Scalar),
            ("source", Scalar),
            ("tls", Scalar),
            ("via", Scalar),
            ("redirect_only", Scalar),
            ("app", Scalar),
            ("evidence", evidence()),
        ]),
        "app" => obj(vec![
            ("package", Scalar),
            ("framework", Scalar),
            ("loc", Loc),
            ("router_loc", Loc),
            ("served", Scalar),
            ("loopback_only", Scalar),
            ("redirect_only", Scalar),
            (
                "routes",
                list(obj(vec![
                    ("methods", list(Scalar)),
                    ("path", Scalar),
                    ("capabilities", list(Scalar)),
                    ("rate_limited", Scalar),
                    ("auth", Scalar),
                ])),
            ),
            ("listeners", list(Scalar)),
        ]),
        "call" => obj(vec![
            ("package", Scalar),
            ("language", Scalar),
            ("kind", Scalar),
            ("name", Scalar),
            ("callee", Scalar),
            ("resolved", Scalar),
            (
                "args",
                list(obj(vec![
                    ("text", Scalar),
                    ("keyword", Scalar),
                    ("value", Any),
                    ("template", Scalar),
                    ("flow", list(Scalar)),
                ])),
            ),
            ("receiver", Scalar),
            ("receiver_flow", list(Scalar)),
            ("function", Scalar),
            ("is_async_fn", Scalar),
            ("in_handler", Scalar),
            ("input_sources", evidence()),
            ("blocks", evidence()),
            (
                "literals",
                list(obj(vec![("arg", Scalar), ("value", Scalar), ("loc", Loc)])),
            ),
            ("constants", evidence()),
            ("accepting_verifiers", evidence()),
            (
                "sent_cookie",
                obj(vec![
                    ("name", Scalar),
                    ("secure", Scalar),
                    ("removal", Scalar),
                    ("creator", Scalar),
                    ("loc", Loc),
                    ("turned_off", Loc),
                ]),
            ),
            ("cookie_sent", Scalar),
            ("logged_secret_fields", evidence()),
            ("logged_secret_aliases", evidence()),
            ("process_output", Scalar),
            ("function_fields", list(Scalar)),
            ("startup", Scalar),
            ("in_branch", Scalar),
            ("role", Scalar),
            ("statement", Scalar),
            ("then_called", list(Scalar)),
            ("chained", list(Scalar)),
            ("before_called", list(Scalar)),
            ("loc", Loc),
        ]),
        "config" => obj(vec![
            ("package", Scalar),
            ("file", Scalar),
            ("key", Scalar),
            ("table_keys", list(Scalar)),
            ("value", Any),
            ("loc", Loc),
        ]),
        "auth_check" => obj(vec![
            ("package", Scalar),
            ("name", Scalar),
            ("kind", Scalar),
            ("loc", Loc),
            ("records", Scalar),
            ("evidence", evidence()),
            ("audit", evidence()),
        ]),
        "advisory" => obj(vec![
            ("package", Scalar),
            ("crate", Scalar),
            ("version", Scalar),
            ("id", Scalar),
            ("title", Scalar),
            ("kind", Scalar),
            ("url", Scalar),
            ("aliases", list(Scalar)),
            ("patched", Scalar),
            ("date", Scalar),
            ("origin", Scalar),
            ("loc", Loc),
        ]),
        "function" => obj(vec![
            ("package", Scalar),
            ("name", Scalar),
            ("is_async", Scalar),
            ("attrs", list(Scalar)),
            ("traced_params", list(Scalar)),
            ("trait_name", Scalar),
            ("always_returns", Scalar),
            ("role", Scalar),
            ("loc", Loc),
        ]),
        "suppression" => obj(vec![
            ("file", Scalar),
            ("rules", list(Scalar)),
            ("rule_count", Scalar),
            ("reason", Scalar),
            ("file_level", Scalar),
            ("used", Scalar),
            ("checked", Scalar),
            ("unknown_rules", list(Scalar)),
            ("reason_required", Scalar),
            ("loc", Loc),
        ]),
        _ => return None,
    })
}

/// Resolves a dotted property path against a shape. `.` is the element itself (in quantifiers over
/// lists of scalars). Returns the property's shape or the names that were valid at the failing step.
pub fn resolve<'s>(shape: &'s Shape, path: &str) -> Result<&'s Shape, Vec<&'static str>> {
    if path == "." {
        return Ok(shape);
    }
    let mut cur = shape;
    for seg in path.split('.') {
        cur = match cur {
            Object(fields) => match fields.iter().find(|(n, _)| *n == seg) {
                Some((_, s)) => s,
                None => return Err(fields.iter().map(|(n, _)| *n).collect()),
            },
            List(inner) if seg.parse::<usize>().is_ok() => inner,
            Loc if ["file", "line", "col", "end_line", "end_col", "start", "end"]
                .contains(&seg) =>
            {
                &Scalar
            }
            Any => &Any,
            _ => return Err(vec![]),
        };
    }
    Ok(cur)
}
