//! Validation of request priorities: each listed class must exist, and each class gets the
//! level a `Priority` queue serves it at.

use super::{suggest, Validator};
use crate::error::{SpecError, SpecErrorKind};

/// More distinct priorities than this are refused (each is a queue per instance).
const MAX_LEVELS: usize = 16;

impl Validator<'_> {
    /// Each class's priority level (0 for the highest priority given) and the number of
    /// levels; one level when the file gives no priorities.
    pub(super) fn priority_levels(&self, classes: &[String]) -> Result<(Vec<u8>, u8), SpecError> {
        let priorities = &self.raw.priorities;
        for class in priorities.keys() {
            if !classes.contains(class) {
                return Err(self
                    .error(
                        SpecErrorKind::UnknownName,
                        format!("priorities names class \"{class}\", which no workload sends"),
                        &["priorities", &format!("\"{class}\"")],
                    )
                    .with_help(suggest(class, &classes.iter().map(String::as_str).collect::<Vec<_>>())));
            }
        }
        let priority = |class: &String| priorities.get(class).copied().unwrap_or(0);
        let mut distinct: Vec<u32> = classes.iter().map(priority).collect();
        distinct.sort_unstable_by(|a, b| b.cmp(a));
        distinct.dedup();
        if distinct.len() > MAX_LEVELS {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("priorities has {} distinct values, more than {MAX_LEVELS}", distinct.len()),
                    &["priorities"],
                )
                .with_help("group the classes into at most 16 priorities"));
        }
        let levels = classes
            .iter()
            .map(|class| distinct.iter().position(|p| *p == priority(class)).unwrap_or(0) as u8)
            .collect();
        Ok((levels, distinct.len().max(1) as u8))
    }
}
