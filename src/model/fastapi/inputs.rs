//! What a FastAPI route function's parameters take from the request, and what validates them:
//! `Query`/`Path`/`Header`/`Cookie`/`Body`/`Form`/`File` markers (as a default or in `Annotated`),
//! a pydantic model (the JSON body), a name in the route's path, or a plain parameter (the query).
//! Constraints count as validation: a marker's `max_length=`/`le=`/`pattern=`.., a constrained type
//! (`constr(..)`, `EmailStr`, `conint(..)`), and for a model a constrained field or a validator.

use crate::facts::{Expr, Name, Param, TypeDef, TypeRef};
use crate::model::inputs::{has_keyword, InputClass};
use crate::model::program::{Ctx, FnId, Program};

/// Parameters FastAPI fills with something other than request input.
const NOT_INPUTS: &[&str] = &[
    "Request",
    "WebSocket",
    "Response",
    "BackgroundTasks",
    "HTTPConnection",
    "SecurityScopes",
    "Session",
    "AsyncSession",
];

/// Keyword arguments that bound a value.
const CONSTRAINTS: &[&str] = &[
    "max_length",
    "min_length",
    "le",
    "lt",
    "ge",
    "gt",
    "pattern",
    "regex",
    "max_digits",
    "decimal_places",
    "max_items",
    "min_items",
    "multiple_of",
];

/// Types that check their values (pydantic's constrained and special types).
const CHECKING_TYPES: &[&str] = &[
    "EmailStr",
    "NameEmail",
    "HttpUrl",
    "AnyUrl",
    "AnyHttpUrl",
    "PositiveInt",
    "NegativeInt",
    "NonNegativeInt",
    "PositiveFloat",
    "UUID",
    "UUID4",
    "SecretStr",
    "IPvAnyAddress",
    "StringConstraints",
    "constr",
    "conint",
    "confloat",
    "conlist",
    "conset",
    "condecimal",
    "Literal",
];

const VALIDATOR_DECORATORS: &[&str] = &[
    "field_validator",
    "model_validator",
    "validator",
    "root_validator",
];

/// The inputs of a route function, by parameter index; `deps` are the parameters that are
/// dependencies (`db: DbSession` for an `Annotated[Session, Depends(get_db)]` alias).
pub fn handler_inputs(
    prog: &Program,
    id: FnId,
    path: &str,
    deps: &[usize],
) -> Vec<(usize, InputClass)> {
    let f = prog.func(id);
    let ctx = prog.ctx_of(id);
    let mut out = vec![];
    for (i, p) in f.params.iter().enumerate() {
        if deps.contains(&i) {
            continue;
        }
        if let Some(class) = param_input(prog, &ctx, p, path) {
            out.push((i, class));
        }
    }
    out
}

fn param_input(prog: &Program, ctx: &Ctx, p: &Param, path: &str) -> Option<InputClass> {
    let name = p.pat.bindings.first()?;
    if *name == "self" || *name == "cls" {
        return None;
    }
    let ty = p.ty.clone().unwrap_or_else(|| TypeRef {
        segs: vec![Name::new("str")],
        args: vec![],
        text: "str".into(),
        span: p.span,
    });
    if NOT_INPUTS.contains(&ty.strip_option().0.name()) {
        return None;
    }
    let marker = p.default.as_deref().and_then(marker_call);
    let (kind, extractor) = match &marker {
        Some((m, _)) if m == "Depends" || m == "Security" => return None,
        Some((m, _)) => (
            match m.as_str() {
                "Query" => "query",
                "Path" => "path",
                "Header" => "header",
                "Cookie" => "cookie",
                "Body" => "json",
                "Form" => "form",
                "File" => "multipart",
                _ => return None,
            },
            format!("{m}(..)"),
        ),
        None if path.contains(&format!("{{{name}}}")) || path.contains(&format!("{{{name}:")) => {
            ("path", "path parameter".into())
        }
        None => match model_of(prog, ctx, &ty) {
            Some(_) => ("json", format!("{} body", ty.text)),
            None if ty.strip_option().0.name() == "UploadFile" => {
                ("multipart", "UploadFile".into())
            }
            // Only scalars (and lists of them) are read from the query; a parameter of another type
            // is something FastAPI or the project provides.
            None if p.ty.is_none() || is_scalar(&ty) => ("query", "query parameter".into()),
            None => return None,
        },
    };
    let validated_by = marker
        .and_then(|(m, args)| constrained(&args).then(|| format!("`{m}(..)` constrains it")))
        .or_else(|| checking_type(&ty).map(|t| format!("`{t}` checks its value")))
        .or_else(|| {
            let (_, model) = model_of(prog, ctx, &ty)?;
            model_validation(prog, model)
        });
    Some(InputClass {
        kind: kind.into(),
        extractor,
        inner: ty,
        validated_by,
    })
}

fn is_scalar(ty: &TypeRef) -> bool {
    let (t, _) = ty.strip_option();
    match t.name() {
        "str" | "int" | "float" | "bool" | "bytes" | "Decimal" => true,
        "list" | "List" | "set" | "Set" | "Sequence" => t.args.iter().all(is_scalar),
        _ => CHECKING_TYPES.contains(&t.name()),
    }
}

/// `Query(None, max_length=50)` as the marker's name and its arguments.
fn marker_call(e: &Expr) -> Option<(String, Vec<Expr>)> {
    let Expr::Call { func, args, .. } = e else {
        return None;
    };
    let Expr::Path { segs, .. } = &**func else {
        return None;
    };
    let last = segs.last()?.to_string();
    Some((last, args.clone()))
}

fn constrained(args: &[Expr]) -> bool {
    args.iter()
        .any(|a| matches!(a, Expr::Keyword { name, .. } if CONSTRAINTS.contains(&name.as_str())))
}

fn checking_type(ty: &TypeRef) -> Option<String> {
    let (t, _) = ty.strip_option();
    if CHECKING_TYPES.contains(&t.name()) {
        return Some(t.name().to_string());
    }
    CHECKING_TYPES
        .iter()
        .find(|c| t.text.contains(&format!("{c}(")))
        .map(|c| c.to_string())
}

/// The project's class a parameter's type names, when it is a model (a class with fields).
fn model_of<'a>(prog: &Program<'a>, ctx: &Ctx, ty: &TypeRef) -> Option<(u32, &'a TypeDef)> {
    let (t, _) = ty.strip_option();
    let found = prog.resolve_type(ctx, t.name())?;
    (!found.1.fields.is_empty()).then_some(found)
}

/// Why a model's values are checked: a constrained field, or a validator method.
fn model_validation(prog: &Program, model: &TypeDef) -> Option<String> {
    for f in &model.fields {
        if f.attrs
            .iter()
            .any(|a| CONSTRAINTS.iter().any(|c| has_keyword(&a.tokens, c)))
        {
            return Some(format!(
                "field `{}` of `{}` is constrained",
                f.name, model.name
            ));
        }
        if let Some(t) = checking_type(&f.ty) {
            return Some(format!("field `{}` of `{}` is a `{t}`", f.name, model.name));
        }
    }
    let validator = prog.impls_of(&model.name).find_map(|(unit, imp)| {
        imp.fns.iter().find_map(|&i| {
            let f = &prog.unit(unit).facts.fns[i as usize];
            f.attrs
                .iter()
                .any(|a| VALIDATOR_DECORATORS.contains(&a.path.rsplit('.').next().unwrap_or("")))
                .then(|| format!("`{}.{}` validates it", model.name, f.name))
        })
    });
    validator
}
