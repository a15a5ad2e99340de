//! One finding about a config file, printed the way compilers print theirs so editors can jump to it.

use std::fmt;

use super::types::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The file is rejected.
    Error,
    /// The file is accepted, but something in it is probably not what its author meant.
    Warning,
    /// Information, e.g. a section that is understood but not acted on by this build.
    Note,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub location: Location,
    pub message: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `file:line:column: field.path: message`. Line 0 means "the whole file" (e.g. it could not be read) and
/// drops line and column; an empty path (e.g. a YAML syntax error) drops the path.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.location;
        write!(f, "{}:", l.file)?;
        if l.line > 0 {
            write!(f, "{}:{}:", l.line, l.column)?;
        }
        if !l.path.is_empty() {
            write!(f, " {}:", l.path)?;
        }
        write!(f, " {}", self.message)
    }
}
