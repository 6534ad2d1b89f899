//! What a peer can get wrong on a WebSocket connection, and the Close code each answer carries
//! (RFC 6455 §7.4.1), decided in [`ProtocolError::close_code`] only.

use super::CloseCode;
use std::fmt;

/// A frame or message the peer got wrong. The connection is failed with
/// [`close_code`](Self::close_code) (RFC 6455 §7.1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// An opcode RFC 6455 reserves (0x3-0x7, 0xB-0xF), §5.2.
    ReservedOpcode(u8),
    /// RSV2 or RSV3 set, or RSV1 where no extension gave it a meaning (§5.2, RFC 7692 §6.1:
    /// never on a control frame or a continuation).
    ReservedBits,
    /// A client frame without a mask (§5.1: "a client MUST mask all frames").
    UnmaskedFrame,
    /// A control frame with FIN clear (§5.5: "control frames MUST NOT be fragmented").
    FragmentedControl,
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlTooLong,
    /// A 64-bit length with its most significant bit set (§5.2).
    LengthOverflow,
    /// A frame whose payload is over the configured maximum.
    FrameTooLarge {
        /// The configured maximum, in bytes.
        max: u64,
    },
    /// A message (its fragments together, or its payload once decompressed) over the maximum.
    MessageTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// A continuation frame with no message to continue (§5.4).
    UnexpectedContinuation,
    /// A new text or binary frame before the last message's final fragment (§5.4).
    ExpectedContinuation,
    /// A text message or Close reason that is not UTF-8 (§8.1).
    InvalidUtf8,
    /// A Close payload of one byte: a code is two (§5.5.1).
    InvalidClosePayload,
    /// A Close code a peer must not send (§7.4.1, §7.4.2: 1005, 1006, 1015, and codes below 1000
    /// or not assigned).
    InvalidCloseCode(u16),
    /// A compressed message that does not inflate (RFC 7692 §7.2.2).
    BadDeflate,
}

impl ProtocolError {
    /// The Close code the connection is failed with: 1009 for sizes, 1007 for data that is not
    /// what its type says, 1002 for the rest.
    pub fn close_code(&self) -> CloseCode {
        match self {
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => CloseCode::Size,
            Self::InvalidUtf8 => CloseCode::Invalid,
            Self::ReservedOpcode(_)
            | Self::ReservedBits
            | Self::UnmaskedFrame
            | Self::FragmentedControl
            | Self::ControlTooLong
            | Self::LengthOverflow
            | Self::UnexpectedContinuation
            | Self::ExpectedContinuation
            | Self::InvalidClosePayload
            | Self::InvalidCloseCode(_)
            | Self::BadDeflate => CloseCode::Protocol,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::ReservedBits => f.write_str("reserved bits set"),
            Self::UnmaskedFrame => f.write_str("a client frame without a mask"),
            Self::FragmentedControl => f.write_str("a fragmented control frame"),
            Self::ControlTooLong => f.write_str("a control frame over 125 bytes"),
            Self::LengthOverflow => f.write_str("a 64-bit length with its top bit set"),
            Self::FrameTooLarge { max } => write!(f, "a frame over {max} bytes"),
            Self::MessageTooLarge { max } => write!(f, "a message over {max} bytes"),
            Self::UnexpectedContinuation => f.write_str("a continuation with no message"),
            Self::ExpectedContinuation => f.write_str("a new message inside a fragmented one"),
            Self::InvalidUtf8 => f.write_str("text that is not UTF-8"),
            Self::InvalidClosePayload => f.write_str("a one-byte Close payload"),
            Self::InvalidCloseCode(code) => write!(f, "Close code {code} is not allowed"),
            Self::BadDeflate => f.write_str("a compressed message that does not inflate"),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_close_code() {
        let table = [
            (ProtocolError::ReservedOpcode(3), 1002),
            (ProtocolError::UnmaskedFrame, 1002),
            (ProtocolError::InvalidCloseCode(1005), 1002),
            (ProtocolError::BadDeflate, 1002),
            (ProtocolError::InvalidUtf8, 1007),
            (ProtocolError::FrameTooLarge { max: 1 }, 1009),
            (ProtocolError::MessageTooLarge { max: 1 }, 1009),
        ];
        for (error, code) in table {
            assert_eq!(u16::from(error.close_code()), code, "{error}");
        }
    }
}
