//! Cargo workspaces and path dependencies: which packages are one service, and the names under which a
//! member's code reaches its siblings (`use other_crate::…`). Packages joined by path dependencies
//! (directly, through `workspace = true`, renamed or not) are analysed as one unit; each keeps its own
//! crate name, files and dependencies.

use super::{CodeFile, Package};
use globset::{GlobBuilder, GlobSetBuilder};
use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};

/// One Cargo package of a unit.
#[derive(Debug, Clone)]
pub struct Crate {
    /// The package name, as in `Cargo.toml`.
    pub name: String,
    /// The name its library is used by in Rust code (`[lib] name`, or the package name with `_`).
    pub lib: String,
    pub root: PathBuf,
    /// The unit's crates this one depends on, by the name its code uses for them.
    pub deps: Vec<(String, u32)>,
}

impl Crate {
    pub fn named(name: &str, root: &Path) -> Crate {
        Crate {
            name: name.to_string(),
            lib: name.replace('-', "_"),
            root: root.to_path_buf(),
            deps: vec![],
        }
    }
}

/// What a manifest says about packages and workspaces, as far as grouping needs it.
#[derive(Default)]
struct Manifest {
    lib: Option<String>,
    deps: Vec<DepDecl>,
}

/// A dependency as declared: its key, the package it renames (`package = ".."`), the directory of a
/// path dependency, and whether the declaration defers to the workspace's.
struct DepDecl {
    key: String,
    package: Option<String>,
    path: Option<PathBuf>,
    from_workspace: bool,
}

fn parse(dir: &Path) -> Option<toml::Value> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    toml::from_str(&text).ok()
}

/// `a/./b/../c` is `a/c`, without touching the file system (a path dependency need not exist).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn dep_decl(dir: &Path, key: &str, value: &toml::Value) -> DepDecl {
    let get = |k: &str| value.get(k).and_then(toml::Value::as_str);
    DepDecl {
        key: key.to_string(),
        package: get("package").map(str::to_string),
        path: get("path").map(|p| normalize(&dir.join(p))),
        from_workspace: value.get("workspace").and_then(toml::Value::as_bool) == Some(true),
    }
}

/// The service's dependencies: `[dependencies]` and target-specific ones; dev and build dependencies
/// are test and build code.
fn read_manifest(dir: &Path) -> Manifest {
    let Some(doc) = parse(dir) else {
        return Manifest::default();
    };
    let mut deps = vec![];
    let mut tables: Vec<&toml::Value> = doc.get("dependencies").into_iter().collect();
    if let Some(targets) = doc.get("target").and_then(toml::Value::as_table) {
        tables.extend(targets.values().filter_map(|t| t.get("dependencies")));
    }
    for table in tables.iter().filter_map(|t| t.as_table()) {
        deps.extend(table.iter().map(|(k, v)| dep_decl(dir, k, v)));
    }
    Manifest {
        lib: doc
            .get("lib")
            .and_then(|l| l.get("name"))
            .and_then(toml::Value::as_str)
            .map(str::to_string),
        deps,
    }
}

/// A `[workspace]` manifest: its members and exclusions as globs, and its shared dependency table.
struct Workspace {
    root: PathBuf,
    members: globset::GlobSet,
    exclude: Vec<PathBuf>,
    deps: HashMap<String, DepDecl>,
}

fn read_workspace(root: &Path) -> Option<Workspace> {
    let doc = parse(root)?;
    let ws = doc.get("workspace")?;
    let strings = |k: &str| -> Vec<String> {
        ws.get(k)
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(|s| s.trim_end_matches('/').to_string()))
            .collect()
    };
    let mut members = GlobSetBuilder::new();
    for m in strings("members") {
        if let Ok(g) = GlobBuilder::new(&m).literal_separator(true).build() {
            members.add(g);
        }
    }
    let deps = ws
        .get("dependencies")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), dep_decl(root, k, v)))
        .collect();
    Some(Workspace {
        root: root.to_path_buf(),
        members: members.build().ok()?,
        exclude: strings("exclude").iter().map(|e| root.join(e)).collect(),
        deps,
    })
}

impl Workspace {
    fn has_member(&self, pkg_root: &Path) -> bool {
        let Ok(rel) = pkg_root.strip_prefix(&self.root) else {
            return false;
        };
        if self.exclude.iter().any(|e| pkg_root.starts_with(e)) {
            return false;
        }
        rel.as_os_str().is_empty() || self.members.is_match(rel)
    }
}

/// The nearest workspace at or above `dir` that has `dir` as a member (or holds `dir` outside any
/// package: a directory of the workspace such as `crates/`).
fn workspace_of(dir: &Path, in_package: bool) -> Option<Workspace> {
    let ws = dir
        .ancestors()
        .filter(|a| a.join("Cargo.toml").is_file())
        .find_map(read_workspace)?;
    (!in_package || ws.has_member(dir)).then_some(ws)
}

/// The root of the workspace a named path belongs to, when it is above the path: the whole workspace
/// is analysed so that what a sibling member builds or serves is seen.
pub fn enclosing_workspace(path: &Path, package_root: Option<&Path>) -> Option<PathBuf> {
    let ws = match package_root {
        Some(root) => workspace_of(root, true)?,
        None => workspace_of(path, false)?,
    };
    (ws.root != path).then_some(ws.root)
}

/// The crate a dependency names among `roots`: by its path, by the workspace's declaration of it.
fn dep_target(
    decl: &DepDecl,
    ws: Option<&Workspace>,
    by_root: &HashMap<&Path, usize>,
) -> Option<(usize, Option<String>)> {
    if let Some(p) = &decl.path {
        return by_root.get(p.as_path()).map(|i| (*i, decl.package.clone()));
    }
    if decl.from_workspace {
        let shared = ws?.deps.get(&decl.key)?;
        let i = by_root.get(shared.path.as_deref()?)?;
        return Some((*i, decl.package.clone().or(shared.package.clone())));
    }
    None
}

/// Joins packages connected by path dependencies into one package each (a unit of analysis), listing
/// each member as a crate with its dependencies by the names its code uses.
pub fn group(packages: Vec<Package>) -> Vec<Package> {
    let manifests: Vec<Option<Manifest>> = packages
        .iter()
        .map(|p| p.manifest.as_ref().map(|_| read_manifest(&p.root)))
        .collect();
    let libs: Vec<String> = packages
        .iter()
        .zip(&manifests)
        .map(|(p, m)| {
            m.as_ref()
                .and_then(|m| m.lib.clone())
                .unwrap_or_else(|| p.name.replace('-', "_"))
        })
        .collect();
    let by_root: HashMap<&Path, usize> = packages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.manifest.is_some())
        .map(|(i, p)| (p.root.as_path(), i))
        .collect();
    let mut workspaces: HashMap<PathBuf, Option<Workspace>> = HashMap::new();
    let mut edges: Vec<Vec<(String, usize)>> = vec![vec![]; packages.len()];
    for (i, m) in manifests.iter().enumerate() {
        let Some(m) = m else { continue };
        let root = &packages[i].root;
        let ws = if m.deps.iter().any(|d| d.from_workspace) {
            workspaces
                .entry(root.clone())
                .or_insert_with(|| workspace_of(root, true))
                .as_ref()
        } else {
            None
        };
        for d in &m.deps {
            if let Some((j, renamed)) = dep_target(d, ws, &by_root).filter(|(j, _)| *j != i) {
                let name = match renamed {
                    Some(_) => d.key.replace('-', "_"),
                    None => libs[j].clone(),
                };
                edges[i].push((name, j));
            }
        }
    }
    let component = components(&edges);
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, c) in component.iter().enumerate() {
        groups.entry(*c).or_default().push(i);
    }
    let mut slots: Vec<Option<Package>> = packages.into_iter().map(Some).collect();
    groups
        .into_values()
        .map(|members| {
            let taken: Vec<Package> = members
                .iter()
                .map(|i| slots[*i].take().expect("each package is in one group"))
                .collect();
            merge(taken, &members, &edges, &libs)
        })
        .collect()
}

/// Undirected connected components, each named by its smallest member.
fn components(edges: &[Vec<(String, usize)>]) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..edges.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, out) in edges.iter().enumerate() {
        for (_, j) in out {
            let (a, b) = (find(&mut parent, i), find(&mut parent, *j));
            parent[a.max(b)] = a.min(b);
        }
    }
    (0..edges.len()).map(|i| find(&mut parent, i)).collect()
}

/// One package of several: named after its outermost member, rooted where their roots meet.
fn merge(
    mut taken: Vec<Package>,
    members: &[usize],
    edges: &[Vec<(String, usize)>],
    libs: &[String],
) -> Package {
    let local = |global: usize| members.iter().position(|m| *m == global).map(|p| p as u32);
    let crates: Vec<Crate> = taken
        .iter()
        .zip(members)
        .map(|(p, g)| Crate {
            name: p.name.clone(),
            lib: libs[*g].clone(),
            root: p.root.clone(),
            deps: edges[*g]
                .iter()
                .filter_map(|(n, j)| Some((n.clone(), local(*j)?)))
                .collect(),
        })
        .collect();
    if taken.len() == 1 {
        let mut p = taken.pop().expect("one package");
        p.crates = crates;
        return p;
    }
    let outer = (0..taken.len())
        .min_by_key(|i| (taken[*i].root.components().count(), taken[*i].root.clone()))
        .unwrap_or(0);
    let mut root = taken[outer].root.clone();
    for p in &taken {
        while !p.root.starts_with(&root) {
            if !root.pop() {
                break;
            }
        }
    }
    let mut code_files: Vec<CodeFile> = vec![];
    let mut toml_files: Vec<PathBuf> = vec![];
    let mut deploy_files: Vec<PathBuf> = vec![];
    for (k, p) in taken.iter_mut().enumerate() {
        deploy_files.append(&mut p.deploy_files);
        code_files.extend(p.code_files.drain(..).map(|mut f| {
            f.krate = k as u32;
            f
        }));
        toml_files.append(&mut p.toml_files);
    }
    code_files.sort_by(|a, b| a.path.cmp(&b.path));
    toml_files.sort();
    toml_files.dedup();
    deploy_files.sort();
    deploy_files.dedup();
    Package {
        name: taken[outer].name.clone(),
        root,
        manifest: taken[outer].manifest.clone(),
        code_files,
        toml_files,
        deploy_files,
        crates,
    }
}
