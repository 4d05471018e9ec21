//! The committed captures are exactly what the commands in captures/README.md generate: the
//! generator is deterministic, and the README says truthfully how each file was made.

use portnote_synth::args::parse_args;
use std::collections::BTreeSet;

const COMMAND_PREFIX: &str = "- made by: `cargo run --example synth -- ";

/// The generator arguments of every `made by` line in captures/README.md.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string("captures/README.md").unwrap();
    readme
        .lines()
        .filter_map(|line| line.strip_prefix(COMMAND_PREFIX))
        .map(|rest| {
            let args = rest.strip_suffix('`').unwrap();
            args.split_whitespace().map(String::from).collect()
        })
        .collect()
}

#[test]
fn committed_captures_regenerate_byte_identical() {
    let commands = readme_commands();
    assert!(
        commands.len() >= 25,
        "{} commands in captures/README.md",
        commands.len()
    );
    let mut documented = BTreeSet::new();
    for args in commands {
        let parsed = parse_args(&args).unwrap();
        let mut generated = Vec::new();
        parsed.cfg.write(&mut generated).unwrap();
        let committed = std::fs::read(&parsed.out)
            .unwrap_or_else(|e| panic!("{}: {e} (listed in captures/README.md)", parsed.out));
        assert!(
            generated == committed,
            "{} differs from what `{}` generates: regenerate it (see captures/README.md)",
            parsed.out,
            args.join(" ")
        );
        assert!(committed.len() < 100_000, "{} is not small", parsed.out);
        documented.insert(parsed.out);
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir("captures")
        .unwrap()
        .map(|entry| format!("captures/{}", entry.unwrap().file_name().to_string_lossy()))
        .filter(|path| path.ends_with(".pcap") || path.ends_with(".pcapng"))
        .collect();
    assert_eq!(on_disk, documented, "every capture needs a `made by` line");
}
