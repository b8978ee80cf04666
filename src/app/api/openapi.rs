//! `GET /api/openapi.yaml`: the JSON API described in OpenAPI 3.1, for the tools people hand
//! an API to (Swagger UI, Postman, client generators, API fuzzers).
//!
//! The description is `docs/openapi.yaml`, compiled into the binary, so what is served is
//! what the repository holds. The test below holds the file to the route table: every
//! `/api` path and method the server routes (HEAD and OPTIONS included) is described, and
//! nothing else is.

use crate::http::{Response, Status};

/// The description, from `docs/openapi.yaml` at build time.
pub(crate) const SPEC: &str = include_str!("../../../docs/openapi.yaml");

/// `GET /api/openapi.yaml`.
pub fn get() -> Response {
    Response::new(Status::OK)
        // RFC 9512 registers application/yaml.
        .content_type("application/yaml")
        // The same for everyone, and it changes only with a new build.
        .header("cache-control", "public, max-age=300")
        .body(SPEC.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::SPEC;
    use crate::app::router::{ROUTES, allow_value};

    /// (path, method) for each operation under `paths:`, read from the file's block layout:
    /// a path two spaces in (`  /api/posts:`), its methods four spaces in (`    get:`).
    fn described() -> Vec<(String, String)> {
        let mut operations = Vec::new();
        let mut path = None;
        let mut in_paths = false;
        for line in SPEC.lines() {
            if !line.starts_with(' ') && !line.is_empty() {
                in_paths = line == "paths:";
                continue;
            }
            if !in_paths {
                continue;
            }
            if let Some(name) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                path = Some(format!("/{name}"));
            } else if let (Some(path), Some(method)) = (
                &path,
                line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')),
            ) && ["get", "head", "options", "post", "put", "patch", "delete"]
                .contains(&method)
            {
                operations.push((path.clone(), method.to_uppercase()));
            }
        }
        operations.sort();
        operations
    }

    #[test]
    fn the_description_covers_exactly_the_routed_api() {
        let mut routed: Vec<(String, String)> = ROUTES
            .iter()
            .filter(|(path, _)| path.starts_with("/api/") || *path == "/health")
            .flat_map(|(path, methods)| {
                // Every method the path's `Allow` names, HEAD and OPTIONS included.
                allow_value(methods)
                    .split(", ")
                    .map(|method| (path.to_string(), method.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        routed.sort();
        assert_eq!(described(), routed);
    }
}
