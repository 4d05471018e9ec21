//! The library's module graph (issue 12): dependencies point forward only, and no library module
//! imports the binary's `cli` or `commands`. ARCHITECTURE.md draws the same graph.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each library module's layer: a module may use `crate::X` only for modules of a lower layer.
const LAYERS: [(&str, u8); 11] = [
    ("linktype", 0),
    ("transport", 0),
    ("capture", 1),
    ("registry", 1),
    ("decode", 2),
    ("error", 3),
    ("flow", 3),
    ("synth", 3),
    ("aggregate", 4),
    ("report", 5),
    ("pipeline", 6),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|&(_, layer)| layer)
}

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules `source` names as `crate::module` or inside `crate::{a, b::c}`.
fn crate_modules(source: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: after the brace and after each comma at depth 0.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && !c.is_whitespace() => {
                        found.insert(identifier(&group[i..]).to_string());
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(identifier(rest).to_string());
        }
    }
    found
}

#[test]
fn library_modules_depend_forward_only_and_never_on_the_binary() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if ["main", "lib", "cli", "commands"].contains(&name.as_str()) {
            continue; // the binary, and the crate root that declares the modules
        }
        let Some(own) = layer(&name) else {
            problems.push(format!("src/{name}: a module missing from LAYERS"));
            continue;
        };
        let mut files = Vec::new();
        rust_files(&path, &mut files);
        for file in files {
            checked += 1;
            let source = std::fs::read_to_string(&file).unwrap();
            for used in crate_modules(&source) {
                // Re-exports at the crate root (`crate::Error`) come from `error`.
                let target = if used == "Error" || used == "Outcome" {
                    "error".to_string()
                } else {
                    used
                };
                if target == name {
                    continue;
                }
                match layer(&target) {
                    Some(other) if other < own => {}
                    _ => problems.push(format!(
                        "{} uses crate::{target}",
                        file.strip_prefix(&src).unwrap().display()
                    )),
                }
            }
        }
    }
    assert!(checked > 40, "only {checked} files found under src/");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_parser_finds_plain_and_grouped_paths() {
    let source = "use crate::flow::{FlowRecord, FlowSink};\n\
                  use crate::{cli::Cli, report::{self, Format}, Error};\n\
                  let x = crate::decode::decode_frame(a);";
    let found: Vec<String> = crate_modules(source).into_iter().collect();
    assert_eq!(found, ["Error", "cli", "decode", "flow", "report"]);
}
