//! Embeds the built-in rule pack (`rules/*.toml`) and catalog (`rules/catalog/*.toml`) into the binary.

use std::fmt::Write;
use std::path::Path;

fn list(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
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
    let mut out = String::new();
    for (name, dir) in [("RULES", &rules), ("CATALOG", &catalog)] {
        writeln!(out, "pub static {name}: &[(&str, &str)] = &[").unwrap();
        for f in list(dir) {
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
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}
