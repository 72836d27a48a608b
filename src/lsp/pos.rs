//! Positions as LSP counts them (line, UTF-16 code unit) and `file://` URIs.

use lsp_types::{Position, Range, Uri};
use std::path::{Path, PathBuf};

/// Line starts of one text, to turn byte offsets into LSP positions and back.
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { text, starts }
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts[line];
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col: usize = self.text[start..end].chars().map(char::len_utf16).sum();
        Position::new(line as u32, col as u32)
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    /// The byte offset of `pos`; a position past the end of its line is the line's end, a line
    /// past the end of the text is the text's end.
    pub fn offset(&self, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.text.len();
        };
        let line_end = self
            .starts
            .get(pos.line as usize + 1)
            .map_or(self.text.len(), |&s| s - 1);
        let mut units = 0usize;
        for (i, c) in self.text[start..line_end].char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        line_end
    }

    pub fn end(&self) -> Position {
        self.position(self.text.len())
    }
}

/// The file a `file://` URI names.
pub fn to_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // `file:///path` or `file://localhost/path`.
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    use std::os::unix::ffi::OsStringExt;
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

/// The `file://` URI of an absolute path, with `.` and `..` resolved by name (as an editor
/// names the file; links are not followed).
pub fn from_path(path: &Path) -> Option<Uri> {
    use std::os::unix::ffi::OsStrExt;
    use std::path::Component;
    let mut clean = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    let mut s = String::from("file://");
    for &b in clean.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_positions_round_trip() {
        let text = "ab\n😀x\né\n";
        let l = Lines::new(text);
        assert_eq!(l.position(3), Position::new(1, 0));
        assert_eq!(l.position(7), Position::new(1, 2));
        assert_eq!(l.offset(Position::new(1, 2)), 7);
        assert_eq!(l.offset(Position::new(1, 99)), 8);
        assert_eq!(l.offset(Position::new(9, 0)), text.len());
        assert_eq!(l.position(text.len()), Position::new(3, 0));
    }

    #[test]
    fn file_uris() {
        let p = Path::new("/tmp/my dir/a#b.dbml");
        let u = from_path(p).unwrap();
        assert_eq!(u.as_str(), "file:///tmp/my%20dir/a%23b.dbml");
        assert_eq!(to_path(&u).unwrap(), p);
        let dotted = from_path(Path::new("/tmp/a/./b/../c.dbml")).unwrap();
        assert_eq!(dotted.as_str(), "file:///tmp/a/c.dbml");
        assert_eq!(to_path(&"untitled:1".parse().unwrap()), None);
    }
}
