//! The four transports the IANA port registry assigns ports on (RFC 6335 section 5).
//!
//! Shared vocabulary of the registry, the decoders and everything after them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A transport protocol that carries 16-bit port numbers and has its own IANA port space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
    Sctp,
    Dccp,
}

impl Transport {
    /// All transports, in the order the registry tables are laid out.
    pub const ALL: [Transport; 4] = [
        Transport::Tcp,
        Transport::Udp,
        Transport::Sctp,
        Transport::Dccp,
    ];

    /// Index 0..4 into per-transport tables.
    pub const fn index(self) -> usize {
        match self {
            Transport::Tcp => 0,
            Transport::Udp => 1,
            Transport::Sctp => 2,
            Transport::Dccp => 3,
        }
    }

    /// Lower-case name as IANA writes it in the registry's transport column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
            Transport::Sctp => "sctp",
            Transport::Dccp => "dccp",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transport name was none of tcp, udp, sctp, dccp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?} (expected tcp, udp, sctp or dccp)")]
pub struct UnknownTransport(pub String);

impl FromStr for Transport {
    type Err = UnknownTransport;

    /// Case-insensitive, as IANA's files are not consistent about case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tcp" => Ok(Transport::Tcp),
            "udp" => Ok(Transport::Udp),
            "sctp" => Ok(Transport::Sctp),
            "dccp" => Ok(Transport::Dccp),
            _ => Err(UnknownTransport(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_round_trips() {
        for t in Transport::ALL {
            assert_eq!(t.as_str().parse::<Transport>(), Ok(t));
            assert_eq!(t.as_str().to_uppercase().parse::<Transport>(), Ok(t));
            assert_eq!(Transport::ALL[t.index()], t);
        }
        assert!("icmp".parse::<Transport>().is_err());
    }
}
