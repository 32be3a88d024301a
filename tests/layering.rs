//! The presence layers point one way: geo, proto and domain at the bottom; then
//! `presence` (data: the index, the socket link); then `cluster` (transport);
//! then `actors`; then `runtime`, which builds them; then the gateway and the
//! server. A lower layer whose code names a higher one fails here, with the
//! file and line, before it can grow back into a cycle. Comments may name any
//! layer, and a layer's own tests may build on the layers above (they stand in
//! for the server).

use std::path::{Path, PathBuf};

/// Each layer, and the modules above it that it must not name.
const RULES: &[(&str, &[&str])] = &[
    (
        "src/presence",
        &[
            "crate::actors",
            "crate::cluster",
            "crate::runtime",
            "crate::gateway",
            "crate::server",
        ],
    ),
    (
        "src/cluster",
        &[
            "crate::actors",
            "crate::runtime",
            "crate::gateway",
            "crate::server",
        ],
    ),
    (
        "src/actors",
        &["crate::runtime", "crate::gateway", "crate::server"],
    ),
];

fn rust_files(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![directory.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).expect("readable source directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs")
                && !is_test_file(&path)
            {
                files.push(path);
            }
        }
    }
    files
}

fn is_test_file(path: &Path) -> bool {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .is_some_and(|stem| stem == "tests" || stem.ends_with("_tests"))
        || path.components().any(|part| part.as_os_str() == "tests")
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut violations = Vec::new();
    for (layer, forbidden) in RULES {
        let files = rust_files(&root.join(layer));
        assert!(!files.is_empty(), "{layer} has no source files");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable source file");
            for (number, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for name in *forbidden {
                    if line.contains(name) {
                        violations.push(format!(
                            "{}:{}: names {name}",
                            file.strip_prefix(root).unwrap_or(&file).display(),
                            number + 1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "layering broken:\n{}",
        violations.join("\n")
    );
}
