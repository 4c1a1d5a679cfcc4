//! Which files a run analyses: the Cargo packages under (or around) the given paths, their Rust sources
//! and their TOML files. Nothing here reads file contents beyond manifests.

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

mod python;
mod workspace;
pub use python::module_of as python_module_of;
pub use workspace::Crate;

#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub root: PathBuf,
    pub manifest: Option<PathBuf>,
    pub code_files: Vec<CodeFile>,
    pub toml_files: Vec<PathBuf>,
    /// Deployment files (Dockerfiles, docker-compose files, Kubernetes manifests) in the package or in a
    /// directory above it: the environment they give the service.
    pub deploy_files: Vec<PathBuf>,
    /// The Cargo packages analysed together (members joined by path dependencies); one for a package
    /// on its own.
    pub crates: Vec<Crate>,
}

impl Package {
    /// The crate whose root is the deepest above `path` (the first when none is).
    pub fn crate_of(&self, path: &Path) -> u32 {
        self.crates
            .iter()
            .enumerate()
            .filter(|(_, c)| path.starts_with(&c.root))
            .max_by_key(|(_, c)| c.root.as_os_str().len())
            .map_or(0, |(i, _)| i as u32)
    }
}

#[derive(Debug, Clone)]
pub struct CodeFile {
    pub path: PathBuf,
    /// The crate target the file belongs to: `lib`, `main`, `bin/NAME`.
    pub target: String,
    /// Module path within that crate target.
    pub module: Vec<String>,
    /// Which of its package's `crates` the file belongs to.
    pub krate: u32,
    /// `Rust` or `Python`.
    pub kind: crate::source::FileKind,
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub packages: Vec<Package>,
    /// When files are named on the command line, their packages are analysed whole but only findings
    /// in these files (or below these directories) are reported.
    pub report_only: Option<Vec<PathBuf>>,
    /// Files and directories the walk could not read, with the reason: reported, never silently lost.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// How the tree is walked.
#[derive(Debug, Default, Clone, Copy)]
pub struct WalkOptions {
    /// Follow symbolic links met while walking (paths named on the command line are always followed).
    /// Off by default: a link can point out of the checked-out tree, and a pull request can add one.
    pub follow_symlinks: bool,
}

#[derive(Debug)]
pub struct DiscoverError(pub String);

/// Directories never analysed: build output, VCS metadata, vendored code.
pub const SKIP_DIRS: &[&str] = &["target", ".git", "node_modules", ".hg", ".svn"];
/// Directories of a package that hold test, benchmark or example code, not the service.
pub const NON_SERVICE_DIRS: &[&str] = &["tests", "benches", "examples"];
/// TOML files that configure tools, not the service.
pub const TOOL_TOMLS: &[&str] = &[
    "rust-toolchain.toml",
    "rustfmt.toml",
    ".rustfmt.toml",
    "clippy.toml",
    ".clippy.toml",
    "deny.toml",
    "taplo.toml",
    ".taplo.toml",
    "cross.toml",
    "typos.toml",
    "_typos.toml",
    "release.toml",
    "cliff.toml",
    "dist-workspace.toml",
    "about.toml",
    "makefile.toml",
    "nextest.toml",
    "portcullis.toml",
    ".portcullis.toml",
];

pub fn discover(paths: &[PathBuf], options: WalkOptions) -> Result<Discovery, DiscoverError> {
    let mut roots: BTreeSet<PathBuf> = BTreeSet::new();
    let mut explicit: BTreeSet<PathBuf> = BTreeSet::new();
    let mut dirs: Vec<PathBuf> = vec![];
    let mut narrowed: Vec<PathBuf> = vec![];
    // Packages analysed whole because a directory or file inside them was named.
    let mut whole: BTreeSet<PathBuf> = BTreeSet::new();
    for p in paths {
        let canon = p
            .canonicalize()
            .map_err(|e| DiscoverError(format!("cannot read `{}`: {}", p.display(), e)))?;
        let python = python::project_root_of(&canon)
            .filter(|py| package_root_of(&canon).is_none_or(|cargo| py.starts_with(cargo)));
        if python.as_ref() == Some(&canon) {
            // A Python project named itself: it is the root, whatever Cargo package holds it.
            dirs.push(canon.clone());
            roots.insert(canon);
        } else if let Some(py) = python {
            // A file or directory inside a Python project: the project is analysed whole.
            whole.insert(py.clone());
            roots.insert(py);
            if canon.is_dir() {
                narrowed.push(canon);
            } else {
                explicit.insert(canon);
            }
        } else if canon.is_dir() {
            match nearest_manifest_dir(&canon) {
                // A directory inside a package (`portcullis check src/`): the package is analysed whole,
                // since its facts span files, and only findings below the directory are reported.
                Some(pkg) if pkg != canon && package_name(&pkg.join("Cargo.toml")).is_some() => {
                    whole.insert(pkg.clone());
                    roots.insert(pkg);
                    narrowed.push(canon);
                }
                _ => {
                    dirs.push(canon.clone());
                    roots.insert(canon);
                }
            }
        } else {
            let root = package_root_of(&canon)
                .unwrap_or_else(|| canon.parent().unwrap_or(&canon).to_path_buf());
            whole.insert(root.clone());
            roots.insert(root);
            explicit.insert(canon);
        }
    }
    // A member of a workspace is analysed with the whole workspace (what a sibling builds or serves
    // is part of the service); only what was named is reported.
    let named_roots: Vec<PathBuf> = roots.iter().cloned().collect();
    let mut expanded = false;
    for r in &named_roots {
        let package = package_root_of(r).filter(|p| p.join("Cargo.toml").is_file());
        // A file outside any package (its manifest unreadable, a loose script) is analysed on its own.
        if package.is_none() && !dirs.contains(r) {
            continue;
        }
        if let Some(ws) = workspace::enclosing_workspace(r, package.as_deref()) {
            expanded |= roots.insert(ws);
        }
    }
    // A root inside another root adds nothing.
    let roots: Vec<PathBuf> = roots
        .iter()
        .filter(|r| !roots.iter().any(|o| o != *r && r.starts_with(o)))
        .cloned()
        .collect();

    let mut manifests: BTreeMap<PathBuf, Option<String>> = BTreeMap::new();
    let mut rust: BTreeSet<PathBuf> = BTreeSet::new();
    let mut tomls: BTreeSet<PathBuf> = BTreeSet::new();
    let mut deploy: BTreeSet<PathBuf> = BTreeSet::new();
    let mut python: BTreeSet<PathBuf> = BTreeSet::new();
    let mut py_projects: BTreeSet<PathBuf> = BTreeSet::new();
    let mut unreadable: BTreeMap<PathBuf, String> = BTreeMap::new();
    // With links followed, a file reached twice (a link to a directory of the tree) is analysed once.
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    for root in &roots {
        let found = Found {
            manifests: &mut manifests,
            rust: &mut rust,
            tomls: &mut tomls,
            deploy: &mut deploy,
            python: &mut python,
            py_projects: &mut py_projects,
            unreadable: &mut unreadable,
            seen: &mut seen,
        };
        walk(root, options, found);
    }

    // Every file belongs to the deepest package root above it.
    let mut packages: BTreeMap<PathBuf, Package> = BTreeMap::new();
    for (root, name) in &manifests {
        if let Some(name) = name {
            packages.insert(
                root.clone(),
                Package {
                    name: name.clone(),
                    root: root.clone(),
                    manifest: Some(root.join("Cargo.toml")),
                    code_files: vec![],
                    toml_files: vec![],
                    deploy_files: vec![],
                    crates: vec![Crate::named(name, root)],
                },
            );
        }
    }
    // Packages that are not the service: test, example and fixture crates, vendored copies of other
    // projects, cargo-fuzz crates, test-support crates. Judged below the deepest directory the user named
    // (or walked) above it, so naming such a package, or a directory of them, still analyses it.
    let support: BTreeSet<PathBuf> = packages
        .iter()
        .filter(|(root, pkg)| {
            let base = roots
                .iter()
                .chain(&dirs)
                .chain(&narrowed)
                .filter(|r| root.starts_with(r))
                .max_by_key(|r| r.components().count());
            let rel = base.and_then(|w| root.strip_prefix(w).ok());
            rel.is_some_and(|rel| !rel.as_os_str().is_empty())
                && (rel.is_some_and(under_support_dir) || is_support_package(root, &pkg.name))
        })
        .map(|(root, _)| root.clone())
        .collect();
    let named: Vec<PathBuf> = narrowed.iter().chain(&explicit).cloned().collect();
    // Test, bench and example targets that the manifest places elsewhere (`[[test]] path = ...`).
    let declared: BTreeMap<PathBuf, Vec<PathBuf>> = packages
        .keys()
        .map(|root| (root.clone(), declared_non_service(root)))
        .collect();
    let pkg_roots: BTreeSet<PathBuf> = packages.keys().cloned().collect();
    let owner = |file: &Path| -> Option<PathBuf> {
        file.ancestors()
            .skip(1)
            .find(|a| pkg_roots.contains(*a))
            .map(Path::to_path_buf)
    };
    let mut loose: BTreeMap<PathBuf, Package> = BTreeMap::new();
    for file in &rust {
        match owner(file) {
            Some(root) if support.contains(&root) => {}
            Some(root) => {
                let pkg = packages.get_mut(&root).expect("owner is a package");
                let elsewhere = &declared[&root];
                if elsewhere.iter().any(|d| file.starts_with(d)) {
                    continue;
                }
                if let Some(rf) = classify_rust(&pkg.root, file, &named) {
                    pkg.code_files.push(rf);
                }
            }
            None => {
                let root = roots
                    .iter()
                    .find(|r| file.starts_with(r))
                    .cloned()
                    .unwrap_or_default();
                if file
                    .strip_prefix(&root)
                    .ok()
                    .and_then(Path::parent)
                    .is_some_and(under_support_dir)
                {
                    continue;
                }
                let pkg = loose.entry(root.clone()).or_insert_with(|| {
                    let name = root
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| ".".into());
                    Package {
                        crates: vec![Crate::named(&name, &root)],
                        name,
                        root: root.clone(),
                        manifest: None,
                        code_files: vec![],
                        toml_files: vec![],
                        deploy_files: vec![],
                    }
                });
                let rel = file.strip_prefix(&root).unwrap_or(file);
                pkg.code_files.push(CodeFile {
                    path: file.clone(),
                    target: "main".into(),
                    module: module_of(rel),
                    krate: 0,
                    kind: crate::source::FileKind::Rust,
                });
            }
        }
    }
    for file in &tomls {
        if let Some(root) = owner(file) {
            if support.contains(&root) {
                continue;
            }
            packages
                .get_mut(&root)
                .expect("owner is a package")
                .toml_files
                .push(file.clone());
        } else if file
            .file_name()
            .is_some_and(|n| n == "Cargo.toml" || n == "Cargo.lock")
        {
            // Workspace manifests and lock files are kept with the first package below them, if any.
            let dir = file.parent().unwrap_or(file);
            if let Some(pkg) = packages
                .values_mut()
                .find(|p| p.root.starts_with(dir) && !support.contains(&p.root))
            {
                pkg.toml_files.push(file.clone());
            }
        }
    }
    // Python projects: the directories with a project file, and a directory named on the command line
    // that holds Python files outside any project.
    let mut py_roots = py_projects.clone();
    py_roots.extend(
        dirs.iter()
            .filter(|d| !manifests.keys().any(|m| m.starts_with(d)))
            .cloned(),
    );
    // A named Python file outside any project is analysed with its directory.
    py_roots.extend(
        explicit
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "py"))
            .filter(|f| !py_projects.iter().any(|p| f.starts_with(p)))
            .filter_map(|f| f.parent().map(Path::to_path_buf)),
    );
    let mut python_packages = python::packages(&python, &py_roots, &pkg_roots);
    python_packages.retain(|p| {
        let base = roots
            .iter()
            .chain(&dirs)
            .chain(&narrowed)
            .filter(|r| p.root.starts_with(r))
            .max_by_key(|r| r.components().count());
        let rel = base.and_then(|w| p.root.strip_prefix(w).ok());
        !rel.is_some_and(under_support_dir)
    });
    // A deployment file deploys the packages below the nearest package or workspace root above it
    // (`deploy/k8s/api.yaml` and `docker/Dockerfile` are the repository's), else below its directory.
    for file in &deploy {
        let parent = file.parent().unwrap_or(file);
        let dir = nearest_manifest_dir(parent).unwrap_or_else(|| parent.to_path_buf());
        let dir = dir.as_path();
        for (root, pkg) in packages.iter_mut() {
            if root.starts_with(dir) && !support.contains(root) {
                pkg.deploy_files.push(file.clone());
            }
        }
        for pkg in python_packages.iter_mut() {
            if pkg.root.starts_with(dir) || pkg.root.starts_with(parent) {
                pkg.deploy_files.push(file.clone());
            }
        }
    }
    let mut all: Vec<Package> = packages
        .into_values()
        .chain(loose.into_values())
        .chain(python_packages)
        .collect();
    all.retain(|p| !p.code_files.is_empty() || !p.toml_files.is_empty());
    for p in &mut all {
        p.code_files.sort_by(|a, b| a.path.cmp(&b.path));
        p.toml_files.sort();
        p.toml_files.dedup();
    }
    // Walking a whole enclosing package (or workspace) also walked the packages nested inside it
    // (fixtures, vendored crates, other members): those under a directory that was named are kept, with
    // the members they are joined to by path dependencies.
    let wanted = |root: &Path| {
        (whole.is_empty() && !expanded)
            || whole.contains(root)
            || dirs
                .iter()
                .chain(&narrowed)
                .any(|d| root.starts_with(d) || d.starts_with(root))
    };
    let mut all = workspace::group(all);
    all.retain(|p| p.crates.iter().any(|c| wanted(&c.root)));
    // Named files narrow what is reported; named directories alongside them stay fully reported.
    let report_only = (!explicit.is_empty() || !narrowed.is_empty() || expanded).then(|| {
        let mut allowed: Vec<PathBuf> = explicit.into_iter().collect();
        allowed.extend(narrowed);
        allowed.extend(dirs);
        allowed
    });
    Ok(Discovery {
        packages: all,
        report_only,
        unreadable: unreadable.into_iter().collect(),
    })
}

struct Found<'a> {
    manifests: &'a mut BTreeMap<PathBuf, Option<String>>,
    rust: &'a mut BTreeSet<PathBuf>,
    tomls: &'a mut BTreeSet<PathBuf>,
    deploy: &'a mut BTreeSet<PathBuf>,
    python: &'a mut BTreeSet<PathBuf>,
    /// Directories holding a Python project file.
    py_projects: &'a mut BTreeSet<PathBuf>,
    unreadable: &'a mut BTreeMap<PathBuf, String>,
    seen: &'a mut BTreeSet<PathBuf>,
}

fn walk(root: &Path, options: WalkOptions, found: Found<'_>) {
    let ignores = Ignores::default();
    let walker = WalkDir::new(root)
        .follow_links(options.follow_symlinks)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_dir() && SKIP_DIRS.contains(&name.as_ref()) {
                return false;
            }
            !ignores.is_ignored(e.path(), e.file_type().is_dir())
        });
    let mut files: Vec<PathBuf> = vec![];
    for entry in walker {
        match entry {
            Ok(e) if e.file_type().is_file() => files.push(e.into_path()),
            Ok(_) => {}
            Err(e) => {
                if let Some(what) = walk_problem(&e) {
                    let path = e.path().unwrap_or(root).to_path_buf();
                    found.unreadable.insert(path, what);
                }
            }
        }
    }
    if options.follow_symlinks {
        files = unique_files(files, found.seen);
    }
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if name == "cargo.toml" {
            let dir = path.parent().unwrap_or(&path).to_path_buf();
            found.manifests.insert(dir, package_name(&path));
            found.tomls.insert(path);
        } else if name.ends_with(".rs") {
            found.rust.insert(path);
        } else if python::marks_project(&path, &name) {
            if let Some(dir) = path.parent() {
                found.py_projects.insert(dir.to_path_buf());
            }
            if name == "pyproject.toml" {
                found.tomls.insert(path);
            }
        } else if name.ends_with(".py") {
            found.python.insert(path);
        } else if is_deployment_file(path.strip_prefix(root).unwrap_or(&path), &name) {
            found.deploy.insert(path);
        } else if name == "cargo.lock"
            || (name.ends_with(".toml")
                && !TOOL_TOMLS.contains(&name.as_str())
                && !path
                    .components()
                    .any(|c| c.as_os_str() == ".cargo" || c.as_os_str() == ".config"))
        {
            found.tomls.insert(path);
        }
    }
}

/// Directories that hold Kubernetes manifests.
const MANIFEST_DIRS: &[&str] = &[
    "k8s",
    "kubernetes",
    "deploy",
    "deployment",
    "deployments",
    "manifests",
    "kustomize",
];

/// Dockerfiles, docker-compose files, and YAML files in a manifest directory of the tree walked (`rel`
/// is relative to its root: a checkout that happens to sit below a `deploy/` directory is no manifest).
fn is_deployment_file(rel: &Path, lower_name: &str) -> bool {
    match crate::model::deploy_kind(lower_name) {
        Some(crate::model::DeployKind::Dockerfile | crate::model::DeployKind::Procfile) => true,
        Some(crate::model::DeployKind::Yaml) => {
            lower_name.starts_with("docker-compose")
                || lower_name.starts_with("compose.")
                || lower_name.starts_with("compose-")
                || rel.ancestors().skip(1).any(|a| {
                    a.file_name()
                        .is_some_and(|n| MANIFEST_DIRS.contains(&n.to_string_lossy().as_ref()))
                })
        }
        None => false,
    }
}

/// One path per real file: where links make a file reachable twice, the path that is its real location
/// wins (its module path is the true one), else the first in walk order.
fn unique_files(files: Vec<PathBuf>, seen: &mut BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let mut by_real: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    let mut order: Vec<PathBuf> = vec![];
    for path in files {
        let real = path.canonicalize().unwrap_or_else(|_| path.clone());
        if seen.contains(&real) {
            continue;
        }
        match by_real.get_mut(&real) {
            Some(kept) => {
                if path == real {
                    *kept = path;
                }
            }
            None => {
                order.push(real.clone());
                by_real.insert(real, path);
            }
        }
    }
    order
        .into_iter()
        .map(|real| {
            let path = by_real.remove(&real).expect("every real path was recorded");
            seen.insert(real);
            path
        })
        .collect()
}

/// What to tell the user about an entry the walk could not enter, or `None` when there is nothing to
/// say: a link loop (its target is walked anyway) or a dangling link (nothing to analyse).
fn walk_problem(e: &walkdir::Error) -> Option<String> {
    if e.loop_ancestor().is_some() {
        return None;
    }
    let io = e.io_error()?;
    if io.kind() == std::io::ErrorKind::NotFound {
        return None;
    }
    let is_dir = e
        .path()
        .and_then(|p| std::fs::symlink_metadata(p).ok())
        .is_some_and(|m| m.is_dir());
    Some(if is_dir {
        format!("cannot read directory: {io}; the files below it were not analysed")
    } else {
        format!("cannot read: {io}")
    })
}

/// `.gitignore` files apply to their directory and below; the deepest match wins.
#[derive(Default)]
struct Ignores {
    cache: RefCell<HashMap<PathBuf, Option<Gitignore>>>,
}

impl Ignores {
    fn matcher(&self, dir: &Path) -> Option<Gitignore> {
        if let Some(m) = self.cache.borrow().get(dir) {
            return m.clone();
        }
        let file = dir.join(".gitignore");
        let m = if file.is_file() {
            let mut b = GitignoreBuilder::new(dir);
            b.add(&file);
            b.build().ok()
        } else {
            None
        };
        self.cache.borrow_mut().insert(dir.to_path_buf(), m.clone());
        m
    }

    fn is_ignored(&self, path: &Path, is_dir: bool) -> bool {
        for dir in path.ancestors().skip(1) {
            if let Some(m) = self.matcher(dir) {
                let r = m.matched(path, is_dir);
                if r.is_ignore() {
                    return true;
                }
                if r.is_whitelist() {
                    return false;
                }
            }
            if dir.join(".git").exists() {
                break;
            }
        }
        false
    }
}

/// Directories whose packages are not the service: tests and their fixtures, examples, benchmarks,
/// vendored copies of other projects.
const SUPPORT_DIRS: &[&str] = &[
    "tests",
    "test",
    "testdata",
    "test-data",
    "fixtures",
    "benches",
    "examples",
    "vendor",
    "vendored",
];

fn under_support_dir(rel: &Path) -> bool {
    rel.components()
        .any(|c| SUPPORT_DIRS.contains(&c.as_os_str().to_string_lossy().as_ref()))
}

/// A cargo-fuzz crate (`[package.metadata] cargo-fuzz = true`) or a crate that only supports tests
/// (`testkit`, `test-utils`, `*-tests`, `mock-server`).
fn is_support_package(root: &Path, name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['-', '_']).collect();
    let test_word = |w: &&str| {
        matches!(
            *w,
            "test"
                | "tests"
                | "tester"
                | "testing"
                | "testkit"
                | "testutils"
                | "testsuite"
                | "mock"
                | "mocks"
        )
    };
    if words.iter().any(test_word) {
        return true;
    }
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return false;
    };
    let Ok(value) = toml::from_str::<toml::Value>(&text) else {
        return false;
    };
    value
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("cargo-fuzz"))
        .and_then(toml::Value::as_bool)
        == Some(true)
}

fn package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let value: toml::Value = toml::from_str(&text).ok()?;
    let name = value.get("package")?.get("name")?.as_str()?;
    Some(name.to_string())
}

/// The files and module directories of the `[[test]]`, `[[bench]]` and `[[example]]` targets a manifest
/// declares with a `path`: `src/tests/mod.rs` is the directory `src/tests`, `it/api.rs` the file and
/// its module directory `it/api`.
fn declared_non_service(root: &Path) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return vec![];
    };
    let Ok(value) = toml::from_str::<toml::Value>(&text) else {
        return vec![];
    };
    let mut out = vec![];
    for kind in ["test", "bench", "example"] {
        let targets = value.get(kind).and_then(toml::Value::as_array);
        for t in targets.into_iter().flatten() {
            let Some(path) = t.get("path").and_then(toml::Value::as_str) else {
                continue;
            };
            let file = root.join(path);
            let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned());
            match stem.as_deref() {
                Some("mod" | "main" | "lib") => {
                    out.extend(file.parent().map(Path::to_path_buf));
                }
                Some(stem) => {
                    out.push(file.with_file_name(stem));
                    out.push(file);
                }
                None => {}
            }
        }
    }
    // A target whose root file sits in the package root or `src/` would swallow the service: those
    // directories are never test trees.
    out.retain(|p| p != root && *p != root.join("src"));
    out
}

/// The directory of the nearest `Cargo.toml` at or above `path`, package or workspace.
fn nearest_manifest_dir(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| a.join("Cargo.toml").is_file())
        .map(Path::to_path_buf)
}

fn package_root_of(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .find(|a| {
            let m = a.join("Cargo.toml");
            m.is_file() && package_name(&m).is_some()
        })
        .map(Path::to_path_buf)
}

/// The crate target and module path of a Rust file of a package, or `None` for files that are not part of
/// the service (tests, benches, examples, build scripts).
fn classify_rust(root: &Path, file: &Path, named: &[PathBuf]) -> Option<CodeFile> {
    let rel = file.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.len() == 1 && parts[0] == "build.rs" {
        return None;
    }
    // Test, bench and example code is skipped, unless the user named it.
    if parts.first().map(String::as_str) == Some("examples")
        && named.iter().any(|n| file.starts_with(n))
    {
        let name = parts
            .get(1)
            .map(|n| n.trim_end_matches(".rs").to_string())
            .unwrap_or_default();
        let rest: PathBuf = parts.iter().skip(2).collect();
        return Some(CodeFile {
            path: file.to_path_buf(),
            target: format!("example/{name}"),
            module: if parts.len() <= 2 {
                vec![]
            } else {
                module_of(&rest)
            },
            krate: 0,
            kind: crate::source::FileKind::Rust,
        });
    }
    if parts
        .first()
        .is_some_and(|p| NON_SERVICE_DIRS.contains(&p.as_str()))
    {
        return None;
    }
    if parts.first().map(String::as_str) == Some("src") {
        let inner = &parts[1..];
        if inner.first().map(String::as_str) == Some("bin") && inner.len() >= 2 {
            let name = inner[1].trim_end_matches(".rs").to_string();
            let rest: PathBuf = inner[2..].iter().collect();
            return Some(CodeFile {
                path: file.to_path_buf(),
                target: format!("bin/{name}"),
                module: if inner.len() == 2 {
                    vec![]
                } else {
                    module_of(&rest)
                },
                krate: 0,
                kind: crate::source::FileKind::Rust,
            });
        }
        let target = if inner == ["main.rs"] { "main" } else { "lib" };
        let rest: PathBuf = inner.iter().collect();
        return Some(CodeFile {
            path: file.to_path_buf(),
            target: target.into(),
            module: module_of(&rest),
            krate: 0,
            kind: crate::source::FileKind::Rust,
        });
    }
    // Sources outside `src/` (custom `[lib] path`, loose files): modules by their path.
    Some(CodeFile {
        path: file.to_path_buf(),
        target: "lib".into(),
        module: module_of(rel),
        krate: 0,
        kind: crate::source::FileKind::Rust,
    })
}

/// `a/b.rs` is `a::b`, `a/mod.rs` is `a`, `lib.rs` and `main.rs` are the root.
fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_string();
        let is_root = parts.is_empty() && (stem == "lib" || stem == "main");
        if stem != "mod" && !is_root {
            parts.push(stem);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_follow_the_file_layout() {
        assert_eq!(module_of(Path::new("lib.rs")), Vec::<String>::new());
        assert_eq!(module_of(Path::new("routes/mod.rs")), vec!["routes"]);
        assert_eq!(
            module_of(Path::new("routes/users.rs")),
            vec!["routes", "users"]
        );
    }
}
