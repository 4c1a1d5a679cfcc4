//! Python projects: a directory with a project file (`pyproject.toml`, `setup.py`, `setup.cfg`,
//! `Pipfile`, `requirements*.txt`, a lock file) holds the `.py` files below it, down to the next such
//! directory. Each file gets its module path from the project's import root (the project directory,
//! or its `src/` in the src layout). Test code (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`),
//! virtual environments and build output are not the service and are left out.

use super::{CodeFile, Crate, Package};
use crate::source::FileKind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Directories that hold no service code: environments, caches, build output.
const SKIP: &[&str] = &[
    "__pycache__",
    "site-packages",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    "build",
    "dist",
    ".eggs",
];

/// Whether a file (lower-cased name) marks the directory it is in as a Python project.
pub(super) fn is_project_file(name: &str) -> bool {
    matches!(
        name,
        "pyproject.toml"
            | "setup.py"
            | "setup.cfg"
            | "pipfile"
            | "pipfile.lock"
            | "poetry.lock"
            | "uv.lock"
            | "pdm.lock"
    ) || (name.starts_with("requirements") && name.ends_with(".txt"))
}

/// Whether the file at `path` (lower-cased name `name`) marks its directory as a Python project. A
/// package's own `setup.py` module (`app/core/setup.py` beside an `__init__.py`) is code, not a project.
pub(super) fn marks_project(path: &Path, name: &str) -> bool {
    is_project_file(name) && !(name == "setup.py" && path.with_file_name("__init__.py").is_file())
}

/// The nearest directory at or above `path` with a Python project file.
/// The search stops at the top of the repository (a directory with `.git`), at a Cargo package, and
/// at the working directory when the path is below it: a stray `requirements.txt` in a home directory
/// does not make the home directory the project.
pub(super) fn project_root_of(path: &Path) -> Option<PathBuf> {
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|c| c.canonicalize().ok())
        .filter(|c| path.starts_with(c));
    for dir in path.ancestors().filter(|a| a.is_dir()) {
        if cwd.as_deref().is_some_and(|c| !dir.starts_with(c)) {
            break;
        }
        let has_project_file = std::fs::read_dir(dir).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                marks_project(
                    &e.path(),
                    &e.file_name().to_string_lossy().to_ascii_lowercase(),
                ) && e.path().is_file()
            })
        });
        if has_project_file {
            return Some(dir.to_path_buf());
        }
        if dir.join(".git").exists() || dir.join("Cargo.toml").is_file() {
            break;
        }
    }
    None
}

/// Whether a `.py` file is test code, by its name or a directory above it (below the project).
fn is_test_file(rel: &Path) -> bool {
    let name = rel
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name == "conftest.py"
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || rel.parent().is_some_and(super::under_support_dir)
}

fn skipped(rel: &Path) -> bool {
    rel.components().any(|c| {
        let c = c.as_os_str().to_string_lossy();
        SKIP.contains(&c.as_ref()) || c.ends_with(".egg-info")
    })
}

/// The Python packages for the `.py` files found, given the directories holding project files.
/// `cargo` are the Cargo package roots: a Python file inside one belongs to it only when a project
/// file closer to it says it is a Python project (bindings, a service beside the Rust one).
pub(super) fn packages(
    files: &BTreeSet<PathBuf>,
    projects: &BTreeSet<PathBuf>,
    cargo: &BTreeSet<PathBuf>,
) -> Vec<Package> {
    let mut out: BTreeMap<PathBuf, Package> = BTreeMap::new();
    for file in files {
        let owner = file
            .ancestors()
            .skip(1)
            .find(|a| projects.contains(*a) || cargo.contains(*a));
        let Some(root) = owner.filter(|a| projects.contains(*a)) else {
            continue;
        };
        let rel = file.strip_prefix(root).unwrap_or(file);
        if skipped(rel) || is_test_file(rel) {
            continue;
        }
        let pkg = out.entry(root.to_path_buf()).or_insert_with(|| {
            let name = project_name(root);
            Package {
                crates: vec![Crate::named(&name, root)],
                name,
                root: root.to_path_buf(),
                manifest: None,
                code_files: vec![],
                toml_files: vec![],
                deploy_files: vec![],
            }
        });
        let import_root = package_root(file, root).unwrap_or_else(|| import_root(root));
        let module = module_of(file.strip_prefix(&import_root).unwrap_or(rel));
        pkg.code_files.push(CodeFile {
            path: file.clone(),
            target: "main".into(),
            module,
            krate: 0,
            kind: FileKind::Python,
        });
    }
    out.into_values().collect()
}

/// The project's name: `[project] name` or `[tool.poetry] name` of `pyproject.toml`, else the
/// directory's name.
fn project_name(root: &Path) -> String {
    let from_pyproject = std::fs::read_to_string(root.join("pyproject.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .and_then(|t| {
            let project = t.get("project").and_then(|p| p.get("name"));
            let poetry = t
                .get("tool")
                .and_then(|t| t.get("poetry"))
                .and_then(|p| p.get("name"));
            project.or(poetry)?.as_str().map(str::to_string)
        });
    from_pyproject.unwrap_or_else(|| {
        root.file_name()
            .map_or_else(|| ".".into(), |n| n.to_string_lossy().into_owned())
    })
}

/// Where imports start for a file inside a package (a directory with `__init__.py`): the directory
/// above the outermost package holding it, below the project (`backend/app/x.py` with
/// `backend/app/__init__.py` is `app.x`, as Python sees it when run from `backend/`).
fn package_root(file: &Path, project: &Path) -> Option<PathBuf> {
    let mut top = None;
    for dir in file.ancestors().skip(1) {
        if !dir.starts_with(project) || !dir.join("__init__.py").is_file() {
            break;
        }
        top = Some(dir);
    }
    top.and_then(Path::parent).map(Path::to_path_buf)
}

/// Where imports start: `src/` in the src layout (a `src` directory that is no package itself).
fn import_root(root: &Path) -> PathBuf {
    let src = root.join("src");
    if src.is_dir() && !src.join("__init__.py").is_file() {
        src
    } else {
        root.to_path_buf()
    }
}

/// `app/routers/users.py` is `app.routers.users`; `app/__init__.py` is `app`.
pub fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".py");
        if stem != "__init__" {
            parts.push(stem.to_string());
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packages_setup_module_is_no_project_file() {
        let dir = std::env::temp_dir().join(format!("portcullis-setup-{}", std::process::id()));
        let pkg = dir.join("app").join("core");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(dir.join("setup.py"), "").unwrap();
        std::fs::write(pkg.join("__init__.py"), "").unwrap();
        std::fs::write(pkg.join("setup.py"), "").unwrap();
        assert!(marks_project(&dir.join("setup.py"), "setup.py"));
        assert!(!marks_project(&pkg.join("setup.py"), "setup.py"));
        assert!(marks_project(&pkg.join("pyproject.toml"), "pyproject.toml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn module_paths_and_test_files() {
        assert_eq!(
            module_of(Path::new("app/routers/users.py")),
            ["app", "routers", "users"]
        );
        assert_eq!(module_of(Path::new("app/__init__.py")), ["app"]);
        assert!(is_test_file(Path::new("tests/test_users.py")));
        assert!(is_test_file(Path::new("app/conftest.py")));
        assert!(is_test_file(Path::new("app/users_test.py")));
        assert!(!is_test_file(Path::new("app/testing_utils.py")));
        assert!(is_project_file("requirements-dev.txt"));
        assert!(!is_project_file("readme.txt"));
        assert!(skipped(Path::new(".venv/lib/site-packages/x.py")));
    }
}
