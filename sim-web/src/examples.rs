//! The example topologies built into the page: every file of `topologies/`, embedded at
//! build time by `build.rs`, with the first line of its header comment as its title.

use serde::Serialize;

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// One example topology.
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    /// The file's name without `.ron`.
    pub name: &'static str,
    /// The first line of its header comment.
    pub title: String,
    /// The RON text.
    pub text: &'static str,
}

/// Every example, by name.
pub fn all() -> Vec<Example> {
    EXAMPLES
        .iter()
        .map(|(name, text)| Example {
            name,
            title: text.lines().next().and_then(|line| line.strip_prefix("//")).unwrap_or("").trim().to_string(),
            text,
        })
        .collect()
}
