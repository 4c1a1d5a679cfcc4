//! Embeds the built-in rule pack (`rules/*.toml`), catalog (`rules/catalog/*.toml`) and curated
//! advisories (`rules/advisories/*.md`) into the binary, with a hash of the analyser's own sources
//! (`src/` and the locked dependency versions: a new syn may parse differently) that keys the cache: a
//! changed analyser never reads entries an older one wrote.

use std::fmt::Write;
use std::path::Path;

fn list(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules = root.join("rules");
    let catalog = rules.join("catalog");
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-changed=rules/catalog");
    println!("cargo:rerun-if-changed=rules/advisories");
    let advisories = rules.join("advisories");
    let mut out = String::new();
    for (name, dir, ext) in [
        ("RULES", &rules, "toml"),
        ("CATALOG", &catalog, "toml"),
        ("ADVISORIES", &advisories, "md"),
    ] {
        writeln!(out, "pub static {name}: &[(&str, &str)] = &[").unwrap();
        for f in list(dir, ext) {
            println!("cargo:rerun-if-changed={}", f.display());
            let rel = f
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            writeln!(
                out,
                "    ({rel:?}, include_str!({:?})),",
                f.display().to_string()
            )
            .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let mut sources = vec![
        root.join("Cargo.lock"),
        root.join("Cargo.toml"),
        root.join("build.rs"),
    ];
    collect_rs(&root.join("src"), &mut sources);
    sources.sort();
    let mut h = std::hash::DefaultHasher::new();
    for f in &sources {
        use std::hash::Hash;
        f.strip_prefix(root).unwrap().hash(&mut h);
        std::fs::read(f).unwrap_or_default().hash(&mut h);
    }
    writeln!(
        out,
        "pub const SOURCE_HASH: u64 = {};",
        std::hash::Hasher::finish(&h)
    )
    .unwrap();
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_rs(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}
