//! The OpenAPI document against the code: the committed copy is the one the
//! code builds, and every route the router serves is described in it.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use super::openapi_document;

const COMMITTED: &str = include_str!("../../docs/openapi.json");

/// Routes that are not part of the REST API, with the reason.
const NOT_IN_THE_API: [(&str, &str); 2] = [
    ("/admin", "the admin console's HTML pages and forms"),
    ("/metrics", "Prometheus text on the metrics listener"),
];

/// The text of a `.route(` call: from its opening parenthesis to the matching one.
fn call_arguments(source: &str, open: usize) -> &str {
    let mut depth = 0_usize;
    for (offset, character) in source[open..].char_indices() {
        match character {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &source[open + 1..open + offset];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced .route( call");
}

/// The collections a generic router is built for (`marker` is
/// `catalog_admin_routes::<` or `issuer_key_routes::<`, called with `("name")`).
fn collections(source: &str, marker: &str) -> Vec<String> {
    let mut names = Vec::new();
    {
        for (at, _) in source.match_indices(marker) {
            let rest = &source[at..];
            let Some(start) = rest.find("(\"") else {
                continue;
            };
            let name = &rest[start + 2..];
            let end = name.find('"').expect("closing quote");
            names.push(name[..end].to_owned());
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Every (method, path) a `.route(` call in `source` serves; `{collection}` is
/// each of `catalog`, or of `issuers` in the key routes.
fn routes_in(source: &str, catalog: &[String], issuers: &[String]) -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (at, _) in source.match_indices(".route(") {
        let arguments = call_arguments(source, at + ".route".len());
        let quote = arguments.find('"').expect("a route path literal");
        let template = &arguments[quote + 1..];
        let template = template[..template.find('"').expect("closing quote")]
            .replace("{{", "{")
            .replace("}}", "}");
        let methods: Vec<&str> = ["get", "post", "put", "patch", "delete"]
            .into_iter()
            .filter(|method| {
                arguments
                    .match_indices(&format!("{method}("))
                    .any(|(position, _)| {
                        position == 0
                            || !arguments[..position].ends_with(|character: char| {
                                character.is_alphanumeric() || character == '_'
                            })
                    })
            })
            .collect();
        let collections = if template.contains("/keys") {
            issuers
        } else {
            catalog
        };
        let paths: Vec<String> = if template.contains("{collection}") {
            collections
                .iter()
                .map(|collection| template.replace("{collection}", collection))
                .collect()
        } else {
            vec![template]
        };
        for path in paths {
            for method in &methods {
                routes.insert(((*method).to_owned(), path.clone()));
            }
        }
    }
    routes
}

fn gateway_sources() -> Vec<String> {
    let mut sources = Vec::new();
    let mut directories = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gateway")];
    while let Some(directory) = directories.pop() {
        for entry in std::fs::read_dir(&directory).expect("src/gateway") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                directories.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs")
                && !path.to_string_lossy().contains("tests")
            {
                sources.push(std::fs::read_to_string(&path).expect("source"));
            }
        }
    }
    sources
}

#[test]
fn the_committed_document_is_the_one_the_code_builds() {
    let committed: Value = serde_json::from_str(COMMITTED).expect("docs/openapi.json is JSON");
    assert!(
        committed == openapi_document(),
        "docs/openapi.json is stale: run scripts/api-contract/regenerate"
    );
}

#[test]
fn every_route_the_router_serves_is_described() {
    let sources = gateway_sources();
    let everything = sources.join("\n");
    let catalog = collections(&everything, "catalog_admin_routes::<");
    let issuers = collections(&everything, "issuer_key_routes::<");
    assert!(catalog.len() >= 4, "found collections {catalog:?}");
    assert!(!issuers.is_empty(), "found no issuer collections");
    let served: BTreeSet<(String, String)> = sources
        .iter()
        .flat_map(|source| routes_in(source, &catalog, &issuers))
        .filter(|(_, path)| {
            !NOT_IN_THE_API.iter().any(|(prefix, _)| {
                path == prefix
                    || path.starts_with(&format!("{prefix}/"))
                    || path.starts_with(&format!("{prefix}."))
            })
        })
        .collect();
    assert!(served.len() >= 80, "found only {} routes", served.len());
    let document = openapi_document();
    let described: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let missing: Vec<_> = served.difference(&described).collect();
    assert!(
        missing.is_empty(),
        "routes without a description: {missing:?}"
    );
    let stale: Vec<_> = described.difference(&served).collect();
    assert!(
        stale.is_empty(),
        "described routes the router does not serve: {stale:?}"
    );
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let summary = operation["summary"].as_str().unwrap_or_default();
            assert!(!summary.is_empty(), "{method} {path} has no summary");
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|responses| !responses.is_empty()),
                "{method} {path} has no responses"
            );
        }
    }
}
