//! Placeholder: the checked schema graph lands with the front end.
use crate::diag::{Diagnostic, SourceMap};

pub struct Project {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

impl Project {
    pub fn counts(&self) -> (usize, usize) {
        let e = self.diagnostics.iter().filter(|d| d.is_error()).count();
        (e, self.diagnostics.len() - e)
    }
    pub fn has_errors(&self) -> bool {
        self.counts().0 > 0
    }
}

pub fn load_project(path: &std::path::Path) -> std::io::Result<Project> {
    let bytes = std::fs::read(path)?;
    let mut sources = SourceMap::new();
    sources.add(path.display().to_string(), String::from_utf8_lossy(&bytes));
    Ok(Project { sources, diagnostics: Vec::new() })
}
