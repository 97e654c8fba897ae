//! DTMF carried by SIP INFO (`application/dtmf-relay` and `application/dtmf` bodies).

/// The key in an INFO body: `application/dtmf-relay` (`Signal=5`) or `application/dtmf`
/// (`5`); `None` for other bodies or anything unreadable.
pub fn info_digit(content_type: &str, body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    let value = if content_type.contains("dtmf-relay") {
        text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            k.trim().eq_ignore_ascii_case("signal").then_some(v.trim())
        })?
    } else if content_type.contains("application/dtmf") {
        text.trim()
    } else {
        return None;
    };
    let c = value.chars().next()?.to_ascii_uppercase();
    match value {
        "10" => Some('*'),
        "11" => Some('#'),
        _ if value.len() == 1 && "0123456789*#ABCD".contains(c) => Some(c),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::info_digit;

    #[test]
    fn info_bodies_carry_digits() {
        assert_eq!(
            info_digit("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n"),
            Some('5')
        );
        assert_eq!(
            info_digit("application/dtmf-relay", b"Signal= #\r\n"),
            Some('#')
        );
        assert_eq!(info_digit("application/dtmf", b"11"), Some('#'));
        assert_eq!(info_digit("application/dtmf", b"b"), Some('B'));
        assert_eq!(info_digit("text/plain", b"5"), None);
        assert_eq!(info_digit("application/dtmf-relay", b"Duration=160"), None);
        assert_eq!(info_digit("application/dtmf", b"\xff"), None);
    }
}
