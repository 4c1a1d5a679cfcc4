//! What rules read: a borrowed, typed view of the model's entities. Property names and values are those
//! of the entities' serde serialization (`tests/typed_view.rs` checks every one of them), so rules see the
//! same model as the `--format json` outputs without converting entities to JSON. Values whose shape is
//! `Any` (call argument values, configuration values) are JSON in the model and stay JSON here.

use crate::source::Loc;
use serde_json::Value as Json;
use std::fmt;

/// A model entity (or nested object) whose properties rules can read.
pub trait Entity: Sync {
    /// The property `name`, as the serialization names it; `Prop::Absent` when there is none.
    fn prop(&self, name: &str) -> Prop<'_>;
    /// The entity as serde serializes it: only for the rare tests and texts that need a whole object.
    fn to_json(&self) -> Json;
}

/// A list of entities (`middleware`, `args`, evidence).
pub trait EntityList: Sync {
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> Option<&dyn Entity>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: Entity> EntityList for crate::model::Few<T> {
    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    fn get(&self, i: usize) -> Option<&dyn Entity> {
        <[T]>::get(self, i).map(|e| e as &dyn Entity)
    }
}

impl<T: Entity> EntityList for Vec<T> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }

    fn get(&self, i: usize) -> Option<&dyn Entity> {
        self.as_slice().get(i).map(|e| e as &dyn Entity)
    }
}

/// The value of one property.
#[derive(Clone, Copy)]
pub enum Prop<'a> {
    /// No such property.
    Absent,
    Null,
    Bool(bool),
    Int(i64),
    Str(&'a str),
    Strs(&'a [String]),
    Ints(&'a [usize]),
    List(&'a dyn EntityList),
    Entity(&'a dyn Entity),
    Loc(&'a Loc),
    /// A value that is JSON in the model, or a JSON document (tests).
    Json(&'a Json),
}

/// How a model field becomes a property value.
pub trait ToProp {
    fn to_prop(&self) -> Prop<'_>;
}

impl ToProp for String {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Str(self)
    }
}

impl ToProp for crate::facts::Name {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Str(self.as_str())
    }
}

impl ToProp for std::sync::Arc<str> {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Str(self)
    }
}

impl ToProp for &'static str {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Str(self)
    }
}

impl ToProp for bool {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Bool(*self)
    }
}

macro_rules! int_props {
    ($($t:ty),*) => {$(
        impl ToProp for $t {
            fn to_prop(&self) -> Prop<'_> {
                Prop::Int(*self as i64)
            }
        }
    )*};
}

int_props!(u32, usize, i64);

impl ToProp for Vec<String> {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Strs(self)
    }
}

impl ToProp for crate::model::Few<String> {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Strs(self)
    }
}

impl ToProp for std::sync::Arc<[String]> {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Strs(self)
    }
}

impl ToProp for Vec<usize> {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Ints(self)
    }
}

impl<T: ToProp> ToProp for Box<T> {
    fn to_prop(&self) -> Prop<'_> {
        (**self).to_prop()
    }
}

impl ToProp for Loc {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Loc(self)
    }
}

impl ToProp for Json {
    fn to_prop(&self) -> Prop<'_> {
        Prop::Json(self)
    }
}

impl<T: ToProp> ToProp for Option<T> {
    fn to_prop(&self) -> Prop<'_> {
        match self {
            Some(v) => v.to_prop(),
            None => Prop::Null,
        }
    }
}

/// A list segment: `0`, `1`, … (parsed as the JSON lookup always parsed it).
fn index(seg: &str) -> Option<usize> {
    seg.parse::<usize>().ok()
}

impl<'a> Prop<'a> {
    /// One step of a path: a property of an entity, location or JSON object, or an element of a list.
    pub fn get(self, seg: &str) -> Prop<'a> {
        match self {
            Prop::Entity(e) => e.prop(seg),
            Prop::Loc(l) => match seg {
                "file" => Prop::Int(l.file.into()),
                "line" => Prop::Int(l.span.line.into()),
                "col" => Prop::Int(l.span.col.into()),
                "end_line" => Prop::Int(l.span.end_line.into()),
                "end_col" => Prop::Int(l.span.end_col.into()),
                "start" => Prop::Int(l.span.start.into()),
                "end" => Prop::Int(l.span.end.into()),
                _ => Prop::Absent,
            },
            Prop::Json(Json::Object(m)) => m.get(seg).map_or(Prop::Absent, Prop::Json),
            Prop::Strs(_) | Prop::Ints(_) | Prop::List(_) | Prop::Json(Json::Array(_)) => {
                index(seg).map_or(Prop::Absent, |i| self.at(i))
            }
            _ => Prop::Absent,
        }
    }

    /// The value at a path (`[]`: the value itself).
    pub fn lookup(self, path: &[String]) -> Prop<'a> {
        let mut cur = self;
        for seg in path {
            if matches!(cur, Prop::Absent) {
                break;
            }
            cur = cur.get(seg);
        }
        cur
    }

    pub fn is_absent(self) -> bool {
        matches!(self, Prop::Absent)
    }

    pub fn is_null(self) -> bool {
        matches!(self, Prop::Null | Prop::Json(Json::Null))
    }

    pub fn as_str(self) -> Option<&'a str> {
        match self {
            Prop::Str(s) => Some(s),
            Prop::Json(Json::String(s)) => Some(s),
            _ => None,
        }
    }

    pub fn as_f64(self) -> Option<f64> {
        match self {
            Prop::Int(i) => Some(i as f64),
            Prop::Json(j) => j.as_f64(),
            _ => None,
        }
    }

    /// The number of elements, when the value is a list.
    pub fn list_len(self) -> Option<usize> {
        match self {
            Prop::Strs(a) => Some(a.len()),
            Prop::Ints(a) => Some(a.len()),
            Prop::List(l) => Some(l.len()),
            Prop::Json(Json::Array(a)) => Some(a.len()),
            _ => None,
        }
    }

    /// Element `i` of a list (`Absent` past its end or when it is not a list).
    pub fn at(self, i: usize) -> Prop<'a> {
        let item = match self {
            Prop::Strs(a) => a.get(i).map(|s| Prop::Str(s)),
            Prop::Ints(a) => a.get(i).map(|n| Prop::Int(*n as i64)),
            Prop::List(l) => l.get(i).map(Prop::Entity),
            Prop::Json(Json::Array(a)) => a.get(i).map(Prop::Json),
            _ => None,
        };
        item.unwrap_or(Prop::Absent)
    }

    /// The elements, when the value is a list.
    pub fn items(self) -> Option<impl Iterator<Item = Prop<'a>>> {
        let n = self.list_len()?;
        Some((0..n).map(move |i| self.at(i)))
    }

    /// The value as its serialization (`Absent` as null).
    pub fn to_json(self) -> Json {
        match self {
            Prop::Absent | Prop::Null => Json::Null,
            Prop::Bool(b) => Json::Bool(b),
            Prop::Int(i) => Json::from(i),
            Prop::Str(s) => Json::String(s.to_string()),
            Prop::Strs(a) => Json::from(a.to_vec()),
            Prop::Ints(a) => Json::from(a.to_vec()),
            Prop::List(_) => Json::Array(
                self.items()
                    .into_iter()
                    .flatten()
                    .map(Prop::to_json)
                    .collect(),
            ),
            Prop::Entity(e) => e.to_json(),
            Prop::Loc(l) => serde_json::to_value(l).unwrap_or(Json::Null),
            Prop::Json(j) => j.clone(),
        }
    }

    /// A location: a `Loc`, or an object with `file` and `line` that reads as one.
    pub fn as_loc(self) -> Option<Loc> {
        match self {
            Prop::Loc(l) => Some(*l),
            Prop::Entity(_) | Prop::Json(Json::Object(_))
                if !self.get("line").is_absent() && !self.get("file").is_absent() =>
            {
                serde_json::from_value(self.to_json()).ok()
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Prop<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_absent() {
            f.write_str("Absent")
        } else {
            write!(f, "{}", self.to_json())
        }
    }
}
