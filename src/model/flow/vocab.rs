//! The method and macro names the flow analysis knows by their effect on values.

use crate::facts::TypeRef;

/// Methods whose result is their receiver's value in another form.
pub const PROPAGATE: &[&str] = &[
    "to_string",
    "to_owned",
    "clone",
    "as_str",
    "as_ref",
    "as_deref",
    "as_path",
    "as_os_str",
    "as_bytes",
    "into",
    "try_into",
    "to_path_buf",
    "into_inner",
    "into_owned",
    "trim",
    "trim_start",
    "trim_end",
    "to_lowercase",
    "to_uppercase",
    "to_ascii_lowercase",
    "unwrap",
    "expect",
    "unwrap_or_default",
    "ok",
    "ok_or",
    "ok_or_else",
    "map_err",
    "context",
    "with_context",
    "iter",
    "into_iter",
    "collect",
    "cloned",
    "copied",
    "borrow",
    "deref",
    "display",
    "to_string_lossy",
    "to_str",
    "first",
    "last",
    "get",
    "take",
    "lines",
    "split",
    "chars",
    "bytes",
    "text",
    "value",
    "file_name",
    "next_field",
    "path",
    "query",
    "body",
];

/// Methods whose result mixes receiver and arguments.
pub const COMBINE: &[&str] = &[
    "join",
    "concat",
    "replace",
    "replacen",
    "with_file_name",
    "with_extension",
    "chain",
    "unwrap_or",
    "unwrap_or_else",
    "or",
    "or_else",
    "zip",
    "repeat",
];

/// Methods that append their argument to the receiver in place.
pub const APPEND: &[&str] = &["push_str", "push", "insert_str", "extend", "write_str"];

/// Methods whose result carries no text of the receiver (sizes, tests, comparisons).
pub const SCALAR: &[&str] = &[
    "len",
    "count",
    "is_empty",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "contains",
    "starts_with",
    "ends_with",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "exists",
    "is_file",
    "is_dir",
    "is_absolute",
    "as_millis",
    "as_secs",
    "as_micros",
    "as_nanos",
    "as_secs_f32",
    "as_secs_f64",
    "timestamp",
    "timestamp_millis",
    "num_seconds",
    "num_milliseconds",
];

/// Closures given to these run on the receiver's elements; the result is the closure's.
pub const MAPPERS: &[&str] = &[
    "map",
    "and_then",
    "filter_map",
    "flat_map",
    "then",
    "map_or",
    "map_or_else",
];

/// String-building macros: `write!(s, ..)` and `writeln!` append to their first argument.
pub const FORMAT_MACROS: &[&str] = &["format", "format_args", "concat", "write", "writeln"];

/// Types whose values cannot carry text into a query, a command or a path.
pub fn is_scalar_type(t: &TypeRef) -> bool {
    let (inner, _) = t.strip_option();
    let name = inner.name();
    matches!(
        name,
        "i8" | "i16"
            | "i32"
            | "i64"
            | "i128"
            | "isize"
            | "u8"
            | "u16"
            | "u32"
            | "u64"
            | "u128"
            | "usize"
            | "f32"
            | "f64"
            | "bool"
            | "Uuid"
            | "NaiveDate"
            | "DateTime"
    ) || (matches!(name, "Path" | "Query" | "Json" | "Form")
        && inner.args.len() == 1
        && is_scalar_type(&inner.args[0]))
        || (name == "(" && inner.args.iter().all(is_scalar_type))
}
