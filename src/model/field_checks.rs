//! Which fields of a request model hold only checked values (pydantic): a number, an enum or a
//! `Literal`, a field constrained by a `pattern`, or one a validator of the class tests and rejects.
//! The data flow reads such a field (`data.id`) as no longer raw request input, however tainted the
//! model it comes from.

use super::analysis::Analyzer;
use super::program::Ctx;
use crate::facts::{Block, Expr, FnDef, Lit, TypeDef, TypeRef};

/// Field types whose values cannot carry text of the client's choosing.
const CLOSED_TYPES: &[&str] = &[
    "int",
    "float",
    "bool",
    "Decimal",
    "UUID",
    "UUID1",
    "UUID4",
    "datetime",
    "date",
    "time",
    "timedelta",
    "PositiveInt",
    "NegativeInt",
    "NonNegativeInt",
    "PositiveFloat",
    "Literal",
    "conint",
    "confloat",
    "condecimal",
];

/// Keyword arguments of `Field(..)`/`constr(..)` that restrict a string to a pattern.
const PATTERN_KEYWORDS: &[&str] = &["pattern", "regex"];

const FIELD_VALIDATORS: &[&str] = &["validator", "field_validator"];

/// Calls in a validator's test that only measure or normalise the value: `if not v.strip():` checks
/// that something was given, not what.
const MEASURING_CALLS: &[&str] = &[
    "strip", "lstrip", "rstrip", "lower", "upper", "casefold", "len",
];

/// How far base classes are followed for a field and its validators.
const MAX_BASES: usize = 4;

impl Analyzer<'_, '_> {
    /// Whether every value of field `field` of a `ty` has passed a check (see the module comment).
    pub fn field_checked(&self, ty: &TypeRef, field: &str, ctx: &Ctx) -> bool {
        let (t, _) = ty.strip_option();
        let mut class = self.prog.resolve_type(ctx, t.name()).map(|(_, d)| d);
        for _ in 0..MAX_BASES {
            let Some(def) = class else { return false };
            if let Some(f) = def.fields.iter().find(|f| f.name == field) {
                if self.closed_type(&f.ty, ctx)
                    || f.attrs.iter().any(|a| {
                        PATTERN_KEYWORDS
                            .iter()
                            .any(|k| super::inputs::has_keyword(&a.tokens, k))
                    })
                {
                    return true;
                }
            }
            if self.validator_rejects(def, field) {
                return true;
            }
            // Pydantic models inherit their fields and validators.
            class = def
                .derives
                .iter()
                .find_map(|b| {
                    self.prog
                        .resolve_type(ctx, b.rsplit('.').next().unwrap_or(b))
                })
                .map(|(_, d)| d)
                .filter(|d| d.name != def.name);
        }
        false
    }

    fn closed_type(&self, ty: &TypeRef, ctx: &Ctx) -> bool {
        let (t, _) = ty.strip_option();
        CLOSED_TYPES.contains(&t.name())
            || super::flow::vocab::is_scalar_type(t)
            || self.validates_itself(t, ctx)
    }

    /// A `@validator("field")`/`@field_validator("field")` method of the class that raises when a test
    /// of the value fails.
    fn validator_rejects(&self, def: &TypeDef, field: &str) -> bool {
        let quoted = [format!("\"{field}\""), format!("'{field}'")];
        self.prog.impls_of(&def.name).any(|(unit, imp)| {
            imp.fns.iter().any(|&i| {
                let f = &self.prog.unit(unit).facts.fns[i as usize];
                f.attrs.iter().any(|a| {
                    FIELD_VALIDATORS.contains(&a.path.rsplit('.').next().unwrap_or(""))
                        && quoted.iter().any(|q| a.tokens.contains(q.as_str()))
                }) && rejects_on_test(f)
            })
        })
    }
}

/// Whether the function raises in an `if` whose condition tests the value's content: calls a
/// predicate (`re.fullmatch(..)`, `is_snake_case(v)`), looks it up in an allow-list (`v not in
/// KINDS`) or looks for a path's separators in it (`".." in v`).
fn rejects_on_test(f: &FnDef) -> bool {
    let mut hit = false;
    f.body.walk(&mut |e| {
        if let Expr::If { cond, then, .. } = e {
            hit |= raises(then) && tests_content(cond);
        }
    });
    hit
}

fn raises(b: &Block) -> bool {
    let mut hit = false;
    b.walk(&mut |e| {
        hit |= matches!(e, Expr::Return { value: Some(v), .. } if v.is_err());
    });
    hit
}

fn tests_content(cond: &Expr) -> bool {
    let mut hit = false;
    cond.walk(&mut |x| match x {
        Expr::Call { func, .. } => {
            if let Expr::Path { segs, .. } = func.as_ref() {
                hit |= segs
                    .last()
                    .is_some_and(|l| !MEASURING_CALLS.contains(&l.as_str()));
            }
        }
        Expr::Method(m) => hit |= !MEASURING_CALLS.contains(&m.name.as_str()),
        Expr::Binary { op, lhs, .. } if op == "in" || op == "not in" => {
            hit |= match lhs.as_ref() {
                // `'"' in v` turns one character away, which says nothing of the others; a test for a
                // path's separators or `..` does protect paths.
                Expr::Lit {
                    lit: Lit::Str(s), ..
                } => s.contains('/') || s.contains(".."),
                // `v not in ALLOWED`: an allow-list.
                _ => true,
            }
        }
        _ => {}
    });
    hit
}

#[cfg(test)]
mod tests {
    use super::rejects_on_test;

    fn validator(body: &str) -> bool {
        let src = format!("class M(BaseModel):\n    name: str\n\n    @field_validator('name')\n    def check(cls, v):\n{body}        return v\n");
        let facts = crate::frontend::python::extract(&src, vec!["m".into()], false);
        let f = facts.fns.iter().find(|f| f.name == "check").unwrap();
        rejects_on_test(f)
    }

    #[test]
    fn a_test_of_the_content_that_raises_checks_the_field() {
        assert!(validator(
            "        if not re.fullmatch(r'[a-z]+', v):\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if not is_snake_case(v):\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if v not in KINDS:\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if '..' in v or '/' in v:\n            raise ValueError('bad')\n"
        ));
    }

    #[test]
    fn emptiness_lengths_and_single_characters_do_not() {
        assert!(!validator(
            "        if not v.strip():\n            raise ValueError('empty')\n"
        ));
        assert!(!validator(
            "        if len(v) > 64:\n            raise ValueError('long')\n"
        ));
        assert!(!validator(
            "        if v and '\"' in v:\n            raise ValueError('quote')\n"
        ));
        // A test whose branch does not raise rejects nothing.
        assert!(!validator(
            "        if not is_snake_case(v):\n            v = v.lower()\n"
        ));
    }
}
