//! Which fields of a request model hold only checked values (pydantic): a number, an enum or a
//! `Literal`, a field constrained by a `pattern`, or one a validator of the class tests and rejects.
//! The data flow reads such a field (`data.id`) as no longer raw request input, however tainted the
//! model it comes from.

use super::analysis::Analyzer;
use super::program::{Ctx, FnId};
use crate::facts::{Expr, FnDef, Lit, Name, TypeDef, TypeRef};

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

/// Keyword arguments of `Field(..)` that restrict a string to a pattern.
const PATTERN_KEYWORDS: &[&str] = &["pattern", "regex"];

const FIELD_VALIDATORS: &[&str] = &["validator", "field_validator"];

/// String predicates that accept only a closed alphabet.
const CLOSED_PREDICATES: &[&str] = &[
    "isalnum",
    "isalpha",
    "isdigit",
    "isdecimal",
    "isnumeric",
    "isidentifier",
];

/// How far base classes are followed for a field and its validators.
const MAX_BASES: usize = 4;

impl Analyzer<'_, '_> {
    /// Whether every value of field `field` of a `ty` has passed a check (see the module comment).
    pub fn field_checked(&self, ty: &TypeRef, field: &str, ctx: &Ctx) -> bool {
        let (t, _) = ty.strip_option();
        let mut class = self.prog.resolve_type(ctx, t.name());
        // The class nearest the model that declares the field decides its type; validators of any
        // class on the way count (pydantic inherits both).
        let mut declared = false;
        for _ in 0..MAX_BASES {
            let Some((unit, def)) = class else {
                return false;
            };
            if !declared {
                if let Some(f) = def.fields.iter().find(|f| f.name == field) {
                    declared = true;
                    if self.closed_type(&f.ty, ctx)
                        || f.default.as_deref().is_some_and(anchored_pattern)
                    {
                        return true;
                    }
                }
            }
            if self.validator_rejects(unit, def, field) {
                return true;
            }
            class = def
                .derives
                .iter()
                .find_map(|b| self.prog.resolve_type(ctx, last_segment(b)))
                .filter(|(_, d)| d.name != def.name);
        }
        false
    }

    fn closed_type(&self, ty: &TypeRef, ctx: &Ctx) -> bool {
        let (t, _) = ty.strip_option();
        CLOSED_TYPES.contains(&t.name())
            || super::flow::vocab::is_scalar_type(t)
            || self.validates_itself(t, ctx)
    }

    /// A `@validator("field")`/`@field_validator("field")` method of this class (in its own module) that
    /// raises when a whole-value test fails.
    fn validator_rejects(&self, unit: u32, def: &TypeDef, field: &str) -> bool {
        let quoted = [format!("\"{field}\""), format!("'{field}'")];
        self.prog
            .impls_of(&def.name)
            .filter(|(u, imp)| *u == unit && imp.module == def.module)
            .any(|(unit, imp)| {
                imp.fns.iter().any(|&idx| {
                    let f = &self.prog.unit(unit).facts.fns[idx as usize];
                    f.attrs.iter().any(|a| {
                        FIELD_VALIDATORS.contains(&last_segment(&a.path))
                            && quoted.iter().any(|q| a.tokens.contains(q.as_str()))
                    }) && self.rejects_on_test(FnId { unit, idx })
                })
            })
    }

    fn rejects_on_test(&self, validator: FnId) -> bool {
        let ctx = self.prog.ctx_of(validator);
        rejects_on_test(self.prog.func(validator), &|name| {
            self.prog
                .resolve_fn(&ctx, &[Name::new(name)])
                .is_some_and(|id| returns_whole_value_test(self.prog.func(id)))
        })
    }
}

/// A predicate that returns a whole-value test of its argument (`return re.match(r"^..$", v) is not
/// None`), one call deep.
fn returns_whole_value_test(g: &FnDef) -> bool {
    let Some(value) = value_param(g) else {
        return false;
    };
    let no_deeper = |_: &str| false;
    let mut hit = false;
    g.body.walk(&mut |e| {
        if let Expr::Return { value: Some(v), .. } = e {
            hit |= tests_whole_value(v, value, &no_deeper);
        }
    });
    hit || g
        .body
        .tail()
        .is_some_and(|t| tests_whole_value(t, value, &no_deeper))
}

/// The parameter holding the value: the first one that is not `cls`/`self`.
fn value_param(f: &FnDef) -> Option<&str> {
    f.params
        .iter()
        .filter_map(|p| p.pat.bindings.first())
        .map(|b| b.as_str())
        .find(|b| *b != "cls" && *b != "self")
}

/// Whether the function raises in an `if` whose condition tests the whole value: a regular expression
/// of a closed alphabet anchored at both ends (`re.fullmatch(..)`, `re.match(r"^[a-z]+$", v)`), a
/// closed-alphabet predicate (`v.isalnum()`), an allow-list (`v not in KINDS`), or a predicate function
/// that returns one of those (`is_snake_case(v)`, told by `predicate`). A test of one part (`".." in
/// v`, `v[0].isalpha()`, `v.endswith(..)`), a deny-list, the type, emptiness or the length leaves the
/// rest of the value open: the cleared label is read by every data-flow rule, SQL and shell text
/// included.
fn rejects_on_test(f: &FnDef, predicate: &dyn Fn(&str) -> bool) -> bool {
    let Some(value) = value_param(f) else {
        return false;
    };
    let mut hit = false;
    f.body.walk(&mut |e| {
        if let Expr::If { cond, then, .. } = e {
            hit |= then.raises() && tests_whole_value(cond, value, predicate);
        }
    });
    hit
}

fn tests_whole_value(cond: &Expr, value: &str, predicate: &dyn Fn(&str) -> bool) -> bool {
    let is_value = |e: &Expr| e.as_ident() == Some(value);
    let mut hit = false;
    cond.walk(&mut |x| match x {
        Expr::Call { func, args, .. } => {
            if let Expr::Path { segs, .. } = func.as_ref() {
                let name = segs.last().map(|n| n.as_str()).unwrap_or("");
                hit |= args.iter().any(is_value)
                    && match name {
                        // `re.fullmatch(PATTERN, v)` with a pattern written elsewhere: taken as meant.
                        "fullmatch" => args
                            .first()
                            .is_some_and(|p| !matches!(p, Expr::Lit { .. }) || closed_pattern(p)),
                        "match" | "search" => args.first().is_some_and(closed_pattern),
                        _ => segs.len() == 1 && predicate(name),
                    };
            }
        }
        Expr::Method(m) => {
            hit |= (m.name == "fullmatch" && m.args.iter().any(is_value))
                || (CLOSED_PREDICATES.contains(&m.name.as_str()) && is_value(&m.recv))
                || (matches!(m.name.as_str(), "match" | "search")
                    && m.args.first().is_some_and(closed_pattern)
                    && m.args.iter().any(is_value));
        }
        // `v not in KINDS`: an allow-list.
        Expr::Binary { op, lhs, .. } if op == "not in" => hit |= is_value(lhs),
        _ => {}
    });
    hit
}

fn last_segment(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// `Field(pattern=r"^[a-z]+$")`: pydantic searches the pattern, so only one anchored at both ends
/// restricts the whole value.
fn anchored_pattern(default: &Expr) -> bool {
    let mut hit = false;
    default.walk(&mut |e| {
        if let Expr::Keyword { name, value, .. } = e {
            hit |= PATTERN_KEYWORDS.contains(&name.as_str()) && closed_pattern(value);
        }
    });
    hit
}

/// A literal pattern anchored at both ends whose alphabet has neither `.` nor `/` (`^[\w./-]+$` lets
/// `../` through, and so does `^.*$`).
fn closed_pattern(e: &Expr) -> bool {
    matches!(e, Expr::Lit { lit: Lit::Str(p), .. }
        if (p.starts_with('^') || p.starts_with("\\A"))
            && (p.ends_with('$') || p.ends_with("\\Z") || p.ends_with("\\z"))
            && !p.contains('.')
            && !p.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::rejects_on_test;

    fn validator(body: &str) -> bool {
        let src = format!("class M(BaseModel):\n    name: str\n\n    @field_validator('name')\n    def check(cls, v):\n{body}        return v\n");
        let facts = crate::frontend::python::extract(&src, vec!["m".into()], false);
        let f = facts.fns.iter().find(|f| f.name == "check").unwrap();
        rejects_on_test(f, &|name| name == "is_snake_case")
    }

    #[test]
    fn a_whole_value_test_that_raises_checks_the_field() {
        assert!(validator(
            "        if not re.fullmatch(r'[a-z]+', v):\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if not re.match(r'^[a-z_]+$', v):\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if not SLUG.fullmatch(v):\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if not is_snake_case(v):\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if v not in KINDS:\n            raise ValueError('bad')\n"
        ));
        assert!(validator(
            "        if not v.isalnum():\n            raise ValueError('bad')\n"
        ));
    }

    #[test]
    fn tests_of_a_part_the_type_or_the_size_do_not() {
        assert!(!validator(
            "        if not v.strip():\n            raise ValueError('empty')\n"
        ));
        assert!(!validator(
            "        if len(v) > 64:\n            raise ValueError('long')\n"
        ));
        assert!(!validator(
            "        if v and '\"' in v:\n            raise ValueError('quote')\n"
        ));
        assert!(!validator(
            "        if '..' in v or '/' in v:\n            raise ValueError('path')\n"
        ));
        assert!(!validator(
            "        if not isinstance(v, str):\n            raise ValueError('type')\n"
        ));
        assert!(!validator(
            "        if not v.endswith('.txt'):\n            raise ValueError('ext')\n"
        ));
        assert!(!validator(
            "        if not re.match(r'[a-z]', v):\n            raise ValueError('unanchored')\n"
        ));
        // A test whose branch does not raise rejects nothing.
        assert!(!validator(
            "        if not is_snake_case(v):\n            v = v.lower()\n"
        ));
    }
}
