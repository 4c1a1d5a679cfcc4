//! Stage 1 of a unit: the plan of its files (from discovery) and their bytes, decoded to text. A file
//! that cannot be read, is too large or is not UTF-8 becomes a `parse-error` finding here and is still
//! listed, so that every finding has a file.

use super::diagnostics::{parse_error, FIX_UNREADABLE};
use super::hash::hash_bytes;
use crate::discover::{Discovery, Package};
use crate::rules::Finding;
use crate::source::{FileKind, Loc, SourceFile};
use std::path::{Path, PathBuf};

/// Why a file's bytes are missing, and what the user can do about it.
#[derive(Clone, Debug)]
pub struct Unread {
    pub message: String,
    pub fix: &'static str,
}

/// One file of a unit before it is read.
pub struct FilePlan {
    pub path: PathBuf,
    pub display: String,
    pub kind: FileKind,
    pub target: String,
    pub module: Vec<String>,
    /// The file's crate among its package's `crates`.
    pub krate: u32,
    /// Known before reading (the walk could not enter it).
    pub unread: Option<Unread>,
    /// In-memory sources (rule examples, tests) are not read from disk.
    pub text: Option<String>,
}

/// A unit of analysis: one package and its files, whose ids start at `first_file`.
pub struct UnitPlan {
    pub package: usize,
    pub first_file: u32,
    pub files: Vec<FilePlan>,
}

/// A file after reading: its text (empty when unreadable), the hash of its bytes, and the finding that
/// says why it could not be read.
pub struct ReadFile {
    pub file: SourceFile,
    pub readable: bool,
    pub hash: u128,
    pub problem: Option<Finding>,
}

/// Every package with its files; unreadable paths go to the package that holds them (the first when
/// none does: the caller gives a placeholder package when discovery found none).
pub fn plan(packages: &[Package], disc: &Discovery) -> Vec<UnitPlan> {
    let display = super::DisplayPaths::new();
    let mut units: Vec<UnitPlan> = packages
        .iter()
        .enumerate()
        .map(|(pi, pkg)| UnitPlan {
            package: pi,
            first_file: 0,
            files: package_files(pkg, &display),
        })
        .collect();
    for (path, why) in &disc.unreadable {
        let holder = packages
            .iter()
            .enumerate()
            .filter(|(_, p)| path.starts_with(&p.root))
            .max_by_key(|(_, p)| p.root.as_os_str().len())
            .map_or(0, |(i, _)| i);
        if let Some(u) = units.get_mut(holder) {
            u.files.push(FilePlan {
                display: display.of(path),
                path: path.clone(),
                kind: FileKind::Toml,
                target: String::new(),
                module: vec![],
                krate: packages[holder].crate_of(path),
                unread: Some(Unread {
                    message: why.clone(),
                    fix: FIX_UNREADABLE,
                }),
                text: None,
            });
        }
    }
    number(&mut units);
    units
}

/// What a unit will cost in memory, roughly: the bytes of its files (in-memory sources by length).
pub fn weight(unit: &UnitPlan) -> u64 {
    unit.files
        .iter()
        .map(|f| match &f.text {
            Some(t) => t.len() as u64,
            None => std::fs::metadata(&f.path).map_or(0, |m| m.len()),
        })
        .sum()
}

/// Gives each unit the id of its first file: ids follow unit order, then file order.
pub fn number(units: &mut [UnitPlan]) {
    let mut next = 0u32;
    for u in units {
        u.first_file = next;
        next += u.files.len() as u32;
    }
}

fn package_files(pkg: &Package, display: &super::DisplayPaths) -> Vec<FilePlan> {
    let rust = pkg.code_files.iter().map(|rf| FilePlan {
        display: display.of(&rf.path),
        path: rf.path.clone(),
        kind: rf.kind,
        target: rf.target.clone(),
        module: rf.module.clone(),
        krate: rf.krate,
        unread: None,
        text: None,
    });
    let toml = pkg.toml_files.iter().map(|t| FilePlan {
        display: display.of(t),
        path: t.clone(),
        kind: FileKind::Toml,
        target: String::new(),
        module: vec![],
        krate: pkg.crate_of(t),
        unread: None,
        text: None,
    });
    let deploy = pkg.deploy_files.iter().map(|t| FilePlan {
        display: display.of(t),
        path: t.clone(),
        kind: FileKind::Deploy,
        target: String::new(),
        module: vec![],
        krate: pkg.crate_of(t),
        unread: None,
        text: None,
    });
    rust.chain(toml).chain(deploy).collect()
}

/// Reads a file unless it is larger than the limit (checked before reading, so memory stays bounded).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Unread> {
    let unreadable = |e: std::io::Error| Unread {
        message: format!("cannot read file: {e}"),
        fix: FIX_UNREADABLE,
    };
    let len = std::fs::metadata(path).map_err(unreadable)?.len();
    within(len, limit)?;
    std::fs::read(path).map_err(unreadable)
}

/// The size limit, whether the text comes from disk or from an editor's buffer.
fn within(len: u64, limit: u64) -> Result<(), Unread> {
    if len > limit {
        return Err(Unread {
            message: format!(
                "file is {len} bytes, more than the {limit}-byte limit; not analysed (raise it with --max-file-size or `max-file-size`)"
            ),
            fix: "exclude generated files, or raise the limit",
        });
    }
    Ok(())
}

/// Reads and decodes one file; `id` is its file id in the run.
pub fn read(plan: &FilePlan, id: u32, limit: u64) -> ReadFile {
    let bytes = match (&plan.unread, &plan.text) {
        (Some(why), _) => Err(why.clone()),
        (None, Some(text)) => within(text.len() as u64, limit).map(|()| text.clone().into_bytes()),
        (None, None) => read_limited(&plan.path, limit),
    };
    let source =
        |text: String| SourceFile::new(plan.path.clone(), plan.display.clone(), plan.kind, text);
    match bytes {
        Ok(b) => {
            let hash = hash_bytes(&b);
            match String::from_utf8(b) {
                Ok(t) => ReadFile {
                    file: source(t),
                    readable: true,
                    hash,
                    problem: None,
                },
                Err(e) => {
                    let valid = e.utf8_error().valid_up_to();
                    let file = source(String::from_utf8_lossy(e.as_bytes()).into_owned());
                    let at = valid.min(file.text.len());
                    let span = file.span_of_bytes(at, at);
                    ReadFile {
                        file,
                        readable: false,
                        hash,
                        problem: Some(parse_error(
                            Loc::new(id, span),
                            format!("file is not valid UTF-8 (invalid byte at offset {valid})"),
                            "save the file as UTF-8, as rustc requires",
                        )),
                    }
                }
            }
        }
        Err(why) => {
            let hash = hash_bytes(format!("unread: {}", why.message).as_bytes());
            let file = source(String::new());
            let span = file.span_of_bytes(0, 0);
            ReadFile {
                file,
                readable: false,
                hash,
                problem: Some(parse_error(Loc::new(id, span), why.message, why.fix)),
            }
        }
    }
}
