//! The test binary's layout: every file in `tests/` is a module of `tests/main.rs`. With
//! `autotests = false` a `tests/NAME.rs` that no `mod NAME;` declares is never compiled nor run,
//! and nothing says so; a merge that brings one in would silently drop its checks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The modules `main.rs` declares, in order: every line `mod NAME;` (attributes and doc
/// comments on lines of their own).
fn declared_modules(main_rs: &str) -> Vec<String> {
    main_rs
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("mod ")?;
            Some(rest.strip_suffix(';')?.trim().to_string())
        })
        .collect()
}

/// Whether `dir` holds Rust source anywhere below it (a module directory, not a data directory
/// such as `golden/`).
fn holds_rust(dir: &Path) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let path = entry.unwrap().path();
        if path.is_dir() {
            holds_rust(&path)
        } else {
            path.extension().is_some_and(|e| e == "rs")
        }
    })
}

/// What in `tests/` would be a module: `NAME.rs` files other than `main.rs`, and directories
/// with Rust source in them.
fn module_candidates(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if holds_rust(&path) {
                found.insert(name);
            }
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if stem != "main" {
                found.insert(stem.to_string());
            }
        }
    }
    found
}

#[test]
fn every_file_in_tests_is_a_module_of_main() {
    let dir = tests_dir();
    let main_rs = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let declared: BTreeSet<String> = declared_modules(&main_rs).into_iter().collect();
    let candidates = module_candidates(&dir);
    assert!(
        candidates.len() > 20,
        "only {} candidates in {}",
        candidates.len(),
        dir.display()
    );
    let undeclared: Vec<String> = candidates
        .difference(&declared)
        .map(|name| format!("tests/{name}"))
        .collect();
    assert!(
        undeclared.is_empty(),
        "not declared in tests/main.rs, so never compiled nor run (autotests = false): {}; \
         add `mod NAME;` there (ARCHITECTURE.md, \"Where to add a test\")",
        undeclared.join(", ")
    );
}

/// `wrap_up` reports the skipped checks and must run last: libtest starts tests in name order,
/// so every other module sorts before it.
#[test]
fn wrap_up_is_the_last_module_in_name_order() {
    let main_rs = std::fs::read_to_string(tests_dir().join("main.rs")).unwrap();
    let declared = declared_modules(&main_rs);
    assert_eq!(declared.last().map(String::as_str), Some("wrap_up"));
    let after: Vec<&String> = declared
        .iter()
        .filter(|name| name.as_str() > "wrap_up")
        .collect();
    assert!(
        after.is_empty(),
        "modules after wrap_up in name order: {after:?}"
    );
}

#[test]
fn the_guard_finds_an_undeclared_file_and_skips_data_directories() {
    let scratch = tempfile::tempdir().unwrap();
    for file in ["main.rs", "kept.rs", "dropped.rs", "notes.md"] {
        std::fs::write(scratch.path().join(file), "").unwrap();
    }
    std::fs::create_dir_all(scratch.path().join("golden/summary")).unwrap();
    std::fs::write(scratch.path().join("golden/summary/a.json"), "{}").unwrap();
    std::fs::create_dir(scratch.path().join("helpers")).unwrap();
    std::fs::write(scratch.path().join("helpers/mod.rs"), "").unwrap();
    let candidates: Vec<String> = module_candidates(scratch.path()).into_iter().collect();
    assert_eq!(candidates, ["dropped", "helpers", "kept"]);
    let declared =
        declared_modules("#![allow(x)]\nmod util;\n/// Last.\nmod kept;\n// mod gone;\n");
    assert_eq!(declared, ["util", "kept"]);
}
