//! How a command fails, and the exit status that says which way: bad input (a file that
//! cannot be read or does not describe a valid model, arguments out of range) exits with 2;
//! a run or an output that failed (a report or a result file that cannot be written, a worker
//! that died) exits with 1.

/// Exit status for bad input.
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit status for a failed run or failed output.
pub const EXIT_FAILED: i32 = 1;

/// A command's failure, with the message to print (it ends with a newline).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The input is wrong: the message names the place and the fix.
    BadInput(String),
    /// The input was fine but the run or its output failed.
    Failed(String),
}

impl Failure {
    /// An output that could not be written to `what`.
    pub fn cannot_write(what: impl std::fmt::Display, error: impl std::fmt::Display) -> Self {
        Failure::Failed(format!("error: cannot write {what}: {error}\n"))
    }

    /// The exit status.
    pub fn status(&self) -> i32 {
        match self {
            Failure::BadInput(_) => EXIT_BAD_INPUT,
            Failure::Failed(_) => EXIT_FAILED,
        }
    }

    /// The message to print.
    pub fn message(&self) -> &str {
        match self {
            Failure::BadInput(message) | Failure::Failed(message) => message,
        }
    }
}

/// Messages without a kind are about the input: that is what almost every check finds.
impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::BadInput(message)
    }
}
