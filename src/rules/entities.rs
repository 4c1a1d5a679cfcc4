//! The model's entities as rules see them: each field under the name its serialization gives it.

use super::view::{Entity, Prop, ToProp};
use crate::facts::CallKind;
use crate::model::{
    AdvisoryMatch, App, AppRoute, ArgLiteral, AuthCheck, AuthInfo, CacheInfo, Call, CallArg,
    ConfigEntry, Evidence, FieldInfo, Function, Handler, HandlerParam, IdentityInfo, Input,
    Listener, Middleware, Model, RateLimitInfo, Route, SentCookie, SuppressionInfo, TypeInfo,
};

/// Implements [`Entity`] for a serializable struct from its fields, each under its serialized name
/// (`ty as "type"` for a renamed one); the struct and lists of it become properties of others.
macro_rules! entity {
    ($t:ty { $($field:ident $(as $name:literal)?),* $(,)? }) => {
        impl Entity for $t {
            fn prop(&self, name: &str) -> Prop<'_> {
                match name {
                    $(entity!(@name $field $($name)?) => self.$field.to_prop(),)*
                    _ => Prop::Absent,
                }
            }

            fn to_json(&self) -> serde_json::Value {
                serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
            }
        }

        impl ToProp for $t {
            fn to_prop(&self) -> Prop<'_> {
                Prop::Entity(self)
            }
        }

        impl ToProp for Vec<$t> {
            fn to_prop(&self) -> Prop<'_> {
                Prop::List(self)
            }
        }

        impl ToProp for crate::model::Few<$t> {
            fn to_prop(&self) -> Prop<'_> {
                Prop::List(self)
            }
        }
    };
    (@name $field:ident) => { stringify!($field) };
    (@name $field:ident $name:literal) => { $name };
}

impl ToProp for crate::model::Labels {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Strs(self.names())
    }
}

impl ToProp for CallKind {
    /// The serialized (lowercase) name.
    fn to_prop(&self) -> Prop<'_> {
        Prop::Str(match self {
            CallKind::Call => "call",
            CallKind::Method => "method",
            CallKind::Macro => "macro",
            CallKind::Assign => "assign",
            CallKind::Field => "field",
        })
    }
}

entity!(Evidence { loc, note });
entity!(Middleware {
    name,
    capability,
    tags,
    loc,
    directives,
    keys_identity,
    optional
});
entity!(AuthInfo {
    status,
    sources,
    evidence
});
entity!(RateLimitInfo { limited, evidence });
entity!(CacheInfo {
    directives,
    shared,
    server,
    server_keys_identity,
    evidence
});
entity!(IdentityInfo { reads, evidence });
entity!(Route {
    package,
    framework,
    methods,
    path,
    handler,
    handler_loc,
    changes_state,
    verifies_password,
    loc,
    middleware,
    auth,
    rate_limit,
    cache,
    identity,
    app,
});
entity!(Input {
    package, language, kind, extractor, ty as "type", type_loc, binding, handler, methods, path, free_form,
    free_form_fields, validated, validation, loc, evidence,
});
entity!(Listener {
    package,
    framework,
    loc,
    address,
    host,
    port,
    host_kind,
    source,
    tls,
    via,
    redirect_only,
    app,
    evidence,
});
entity!(AppRoute {
    methods,
    path,
    capabilities,
    rate_limited,
    auth
});
entity!(App {
    package,
    framework,
    loc,
    router_loc,
    served,
    loopback_only,
    redirect_only,
    routes,
    listeners
});
entity!(CallArg {
    text,
    keyword,
    value,
    template,
    flow
});
entity!(ArgLiteral { arg, value, loc });
entity!(SentCookie {
    name,
    secure,
    removal,
    creator,
    loc,
    turned_off
});
entity!(Call {
    package,
    language,
    kind,
    name,
    callee,
    resolved,
    args,
    receiver,
    receiver_flow,
    function,
    is_async_fn,
    in_handler,
    input_sources,
    blocks,
    literals,
    constants,
    accepting_verifiers,
    sent_cookie,
    cookie_sent,
    logged_secret_fields,
    logged_secret_aliases,
    process_output,
    function_fields,
    startup,
    in_branch,
    role,
    statement,
    then_called,
    chained,
    before_called,
    loc,
});
entity!(ConfigEntry {
    package,
    file,
    key,
    table_keys,
    value,
    loc
});
entity!(HandlerParam { binding, ty as "type", loc });
entity!(Handler {
    package,
    name,
    is_async,
    loc,
    params,
    calls,
    cache_control
});
entity!(Function {
    package,
    name,
    is_async,
    attrs,
    traced_params,
    trait_name,
    always_returns,
    role,
    loc
});
entity!(FieldInfo { name, ty as "type", attrs, loc });
entity!(TypeInfo {
    package,
    name,
    kind,
    derives,
    attrs,
    fields,
    loc
});
entity!(SuppressionInfo {
    file,
    rules,
    rule_count,
    reason,
    file_level,
    used,
    checked,
    unknown_rules,
    reason_required,
    loc,
});
entity!(AdvisoryMatch {
    package, krate as "crate", version, id, title, kind, url, aliases, patched, date, origin, loc,
});
entity!(AuthCheck {
    package,
    name,
    kind,
    loc,
    records,
    evidence,
    audit
});

/// The entities of one rule target, in model order (none for an unknown target).
pub fn target_entities<'m>(model: &'m Model, target: &str) -> Vec<Prop<'m>> {
    fn all<T: Entity>(items: &[T]) -> Vec<Prop<'_>> {
        items.iter().map(|e| Prop::Entity(e)).collect()
    }
    match target {
        "route" => all(&model.routes),
        "input" => all(&model.inputs),
        "handler" => all(&model.handlers),
        "type" => all(&model.types),
        "listener" => all(&model.listeners),
        "app" => all(&model.apps),
        "call" => all(&model.calls),
        "config" => all(&model.config),
        "auth_check" => all(&model.auth_checks),
        "advisory" => all(&model.advisories),
        "function" => all(&model.functions),
        "suppression" => all(&model.suppressions),
        _ => vec![],
    }
}
