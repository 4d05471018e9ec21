//! Fatal errors (the third tier; per-packet problems are data in
//! [`crate::decode::NoPortsReason`], per-input problems are reported and counted by commands).

use std::io;

/// How a command that ran to its end finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: a `--fail-on` condition was met.
    ConditionMet,
    /// Exit 2: the output was produced, but an input could not be read to its end.
    InputErrors,
}

impl Outcome {
    pub const fn exit_code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::ConditionMet => 1,
            Outcome::InputErrors => 2,
        }
    }
}

/// An error that ends the command (exit status 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("writing output: {0}")]
    Output(#[source] io::Error),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    /// A live capture could not start, or `--list` could not list.
    #[error(transparent)]
    Live(#[from] crate::capture::live::LiveError),
    #[error("{path}: {source}")]
    Input {
        path: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The output pipe was closed by its reader (`portnote ... | head`): not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
