//! Media stream direction: the `a=sendrecv` / `a=sendonly` / `a=recvonly` / `a=inactive`
//! attributes (RFC 8866 §6.7, RFC 3264 §5.1 and §6.1).

use std::fmt;

/// Which way media flows, from the point of view of the side whose SDP carries the attribute.
///
/// The default, when neither the media nor the session level says anything, is
/// [`Direction::SendRecv`] (RFC 8866 §6.7.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendrecv`: send and receive.
    #[default]
    SendRecv,
    /// `a=sendonly`: send, do not expect to receive (the sender holds the other side).
    SendOnly,
    /// `a=recvonly`: receive, do not send.
    RecvOnly,
    /// `a=inactive`: neither send nor receive.
    Inactive,
}

impl Direction {
    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The direction seen from the other side: `sendonly` and `recvonly` swap, `sendrecv` and
    /// `inactive` stay (the answer to an offer's direction, RFC 3264 §6.1).
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }

    /// The direction that sends when `sends` and receives when `receives`.
    pub fn from_flags(sends: bool, receives: bool) -> Direction {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    /// This direction with sending switched off (`sendrecv` becomes `recvonly`).
    pub fn without_sending(self) -> Direction {
        Direction::from_flags(false, self.receives())
    }

    /// The attribute name: `sendrecv`, `sendonly`, `recvonly` or `inactive`.
    pub fn attribute_name(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The direction an attribute name stands for, ignoring ASCII case; `None` for any other
    /// attribute.
    pub fn from_attribute_name(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|direction| direction.attribute_name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_direction_states_what_it_sends_receives_and_answers() {
        // (direction, sends, receives, reversed, name)
        let table = [
            (
                Direction::SendRecv,
                true,
                true,
                Direction::SendRecv,
                "sendrecv",
            ),
            (
                Direction::SendOnly,
                true,
                false,
                Direction::RecvOnly,
                "sendonly",
            ),
            (
                Direction::RecvOnly,
                false,
                true,
                Direction::SendOnly,
                "recvonly",
            ),
            (
                Direction::Inactive,
                false,
                false,
                Direction::Inactive,
                "inactive",
            ),
        ];
        for (direction, sends, receives, reversed, name) in table {
            assert_eq!(direction.sends(), sends, "{direction}");
            assert_eq!(direction.receives(), receives, "{direction}");
            assert_eq!(direction.reversed(), reversed, "{direction}");
            assert_eq!(direction.reversed().reversed(), direction);
            assert_eq!(Direction::from_flags(sends, receives), direction);
            assert_eq!(direction.attribute_name(), name);
            assert_eq!(Direction::from_attribute_name(name), Some(direction));
        }
    }

    #[test]
    fn without_sending_keeps_receiving_only() {
        assert_eq!(Direction::SendRecv.without_sending(), Direction::RecvOnly);
        assert_eq!(Direction::SendOnly.without_sending(), Direction::Inactive);
        assert_eq!(Direction::RecvOnly.without_sending(), Direction::RecvOnly);
        assert_eq!(Direction::Inactive.without_sending(), Direction::Inactive);
    }

    #[test]
    fn attribute_names_match_case_insensitively_and_default_is_sendrecv() {
        assert_eq!(
            Direction::from_attribute_name("SendOnly"),
            Some(Direction::SendOnly)
        );
        assert_eq!(Direction::from_attribute_name("rtpmap"), None);
        assert_eq!(Direction::default(), Direction::SendRecv);
    }
}
