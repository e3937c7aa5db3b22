//! The text of a QR code scanned from a contact's security code screen: the
//! payload as hex, as `securityCode` hands it to the UI. Anything else is no
//! payload (the comparison then simply fails); nothing longer than a payload
//! is read.

/// The longest text read: twice the bytes of a security code's QR payload,
/// with room to spare.
const MAX_HEX: usize = 2 * 64;

/// The bytes `text` (white space around it ignored) spells in hex, or None.
pub(crate) fn scanned_code_bytes(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if text.len() > MAX_HEX || !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |byte: u8| char::from(byte).to_digit(16);
    text.as_bytes()
        .chunks(2)
        .map(|pair| match pair {
            [high, low] => u8::try_from(digit(*high)? * 16 + digit(*low)?).ok(),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::scanned_code_bytes;

    #[test]
    fn only_plain_hex_is_read() {
        assert_eq!(scanned_code_bytes("01ff0a"), Some(vec![0x01, 0xff, 0x0a]));
        assert_eq!(scanned_code_bytes(" 01FF\n"), Some(vec![0x01, 0xff]));
        for refused in ["0", "+f", "0g", "é1", "0 12", &"00".repeat(65)] {
            assert_eq!(scanned_code_bytes(refused), None, "{refused:?}");
        }
    }
}
