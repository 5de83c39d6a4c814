//! Text from outside (a provider's `error_description`, a claim, a file) made safe to show: an
//! escape sequence could retitle or clear the user's terminal, and a bidi override could make a
//! line read differently from what it is. Such characters are shown as `\u{…}` escapes, and
//! the text is cut to a bounded length.

use std::borrow::Cow;

/// Longest piece of outside text shown in one message, in characters.
pub const MAX_SHOWN: usize = 1000;

/// Whether `c` must not reach a terminal or a one-line message as itself: C0 and C1 controls
/// (ESC, BEL, CR, LF, CSI …), DEL, and the invisible or direction-changing format characters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{17b4}'
                | '\u{17b5}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{fe00}'..='\u{fe0f}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

/// `s` with every unsafe character escaped and at most [`MAX_SHOWN`] characters kept.
pub fn terminal_safe(s: &str) -> Cow<'_, str> {
    if s.chars().count() <= MAX_SHOWN && !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(MAX_SHOWN * 4));
    for (i, c) in s.chars().enumerate() {
        if i == MAX_SHOWN {
            out.push('…');
            break;
        }
        if is_unsafe(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text (as serde_json writes it) with the characters serde_json leaves raw — DEL, C1
/// controls and bidi/format characters — written as `\uXXXX` escapes. Lossless: the JSON
/// means the same, but it can't drive the terminal it is printed to.
pub fn json_terminal_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe_in_json) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_unsafe_in_json(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// serde_json already escapes C0 controls inside strings, and pretty-printing puts raw newlines
/// and spaces between tokens, which are fine.
fn is_unsafe_in_json(c: char) -> bool {
    is_unsafe(c) && !matches!(c, '\n' | '\t' | '\r' | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_bidi_are_shown_not_obeyed() {
        let hostile = "bad\u{1b}]0;pwned\u{7}\u{1b}[2J \u{202e}txt.exe\u{9b}";
        let safe = terminal_safe(hostile);
        assert!(!safe.chars().any(is_unsafe), "{safe:?}");
        assert!(safe.contains("\\u{1b}]0;pwned\\u{7}"), "{safe}");
        assert!(safe.contains("\\u{202e}"), "{safe}");
        assert_eq!(terminal_safe("plain café"), "plain café");
        assert!(matches!(terminal_safe("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn long_text_is_cut() {
        let long = "x".repeat(10_000);
        let safe = terminal_safe(&long);
        assert_eq!(safe.chars().count(), MAX_SHOWN + 1);
        assert!(safe.ends_with('…'));
    }

    #[test]
    fn json_stays_json_and_means_the_same() {
        let v = serde_json::json!({"sub": "a\u{1b}[2Jb\u{202e}c\u{9b}d\u{7f}e\u{e0041}\u{ad}"});
        let text = serde_json::to_string_pretty(&v).unwrap();
        let safe = json_terminal_safe(&text);
        assert!(!safe.chars().any(is_unsafe_in_json), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }
}
