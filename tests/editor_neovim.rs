//! `portcullis server` under a real editor's client: Neovim's built-in LSP client, headless, runs
//! `tests/editor/neovim.lua` (diagnostics, a quick fix applied to the buffer, hover). Skipped when
//! `nvim` is not installed, unless `PORTCULLIS_REQUIRE_NEOVIM` is set (CI installs Debian's
//! package and sets it).

#[path = "support/lsp.rs"]
mod lsp;

use std::path::Path;
use std::process::Command;

#[test]
fn neovim_client_sees_diagnostics_fixes_and_hover() {
    let available = Command::new("nvim")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var_os("PORTCULLIS_REQUIRE_NEOVIM").is_none(),
            "PORTCULLIS_REQUIRE_NEOVIM is set but nvim is not installed"
        );
        eprintln!("skipped: nvim is not installed");
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (tmp, root) = lsp::fixture("axum-shop");
    let script = manifest.join("tests/editor/neovim.lua");
    let out = Command::new("nvim")
        .args(["--headless", "-u", "NONE", "-i", "NONE", "-n"])
        .arg("-c")
        .arg(format!("luafile {}", script.display()))
        .env("PORTCULLIS", env!("CARGO_BIN_EXE_portcullis"))
        .env("ROOT", &root)
        .env("XDG_STATE_HOME", tmp.path().join("state"))
        .env("XDG_DATA_HOME", tmp.path().join("data"))
        .output()
        .expect("run nvim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("neovim check passed"),
        "nvim exited with {}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
}
