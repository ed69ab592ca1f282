//! Revision scripts: the compiled-in registry ([`Migrations`], built by
//! [`migrations!`](crate::migrations!)) and the files on disk
//! (`migrations/versions/<rev>_<slug>.rs`), which `db revision` and
//! `db merge` write and read.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::Revisions;
use crate::revision::Revision;

/// One compiled-in script: its file name and its revision.
#[derive(Debug, Clone, Copy)]
pub struct Script {
    file: &'static str,
    revision: &'static Revision,
}

impl Script {
    /// A script `file` (`<rev>_<slug>.rs`) defining `revision`.
    pub const fn new(file: &'static str, revision: &'static Revision) -> Self {
        Script { file, revision }
    }

    /// The file name, without its directory.
    pub fn file(&self) -> &'static str {
        self.file
    }

    /// The revision the file defines.
    pub fn revision(&self) -> &'static Revision {
        self.revision
    }
}

/// The revision scripts of a directory, compiled into the app: what
/// [`migrations!`](crate::migrations!) defines as `MIGRATIONS`.
///
/// ```
/// use aludel_migrate::{Migrations, Revision, Script};
/// const A: Revision = Revision::new("1975ea83b712", &[], "create account table");
/// const B: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "add plan");
/// static MIGRATIONS: Migrations = Migrations::new("migrations/versions", &[
///     Script::new("1975ea83b712_create_account_table.rs", &A),
///     Script::new("ae1027a6acf0_add_plan.rs", &B),
/// ]);
/// let revisions = MIGRATIONS.revisions()?;
/// assert_eq!(revisions.heads()[0].id(), "ae1027a6acf0");
/// # Ok::<(), aludel_migrate::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    dir: &'static str,
    scripts: &'static [Script],
}

impl Migrations {
    /// The scripts found in `dir` (relative to the crate's `Cargo.toml`).
    pub const fn new(dir: &'static str, scripts: &'static [Script]) -> Self {
        Migrations { dir, scripts }
    }

    /// The directory the scripts were found in, as given to the macro.
    pub fn dir(&self) -> &'static str {
        self.dir
    }

    /// The scripts, sorted by file name.
    pub fn scripts(&self) -> &'static [Script] {
        self.scripts
    }

    /// The checked revision graph of the scripts.
    ///
    /// # Errors
    /// [`ErrorKind::Script`] when a file's name does not start with its
    /// revision id (naming both); the graph's errors (duplicate ids,
    /// missing down revisions, cycles) from [`Revisions::new`].
    pub fn revisions(&self) -> Result<Revisions> {
        for s in self.scripts {
            check_file_name(s.file, s.revision.id())?;
        }
        Revisions::new(self.scripts.iter().map(|s| s.revision))
    }

    /// The script defining revision `id`, if any.
    pub fn script(&self, id: &str) -> Option<&'static Script> {
        self.scripts.iter().find(|s| s.revision.id() == id)
    }
}

/// `file` must be `<id>.rs` or `<id>_<slug>.rs`.
pub(crate) fn check_file_name(file: &str, id: &str) -> Result<()> {
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    if stem == id || stem.starts_with(&format!("{id}_")) {
        return Ok(());
    }
    let named = stem.split('_').next().unwrap_or(stem);
    Err(Error::new(
        ErrorKind::Script,
        format!(
            "migration script {file} declares revision '{id}', but its file name says '{named}'; \
             name the file {id}_<slug>.rs or fix the id"
        ),
    )
    .with_revisions([id.to_string(), named.to_string()]))
}

/// What a script file on disk says about its revision, read without
/// compiling it: `db revision` and `db merge` find the heads this way, so
/// two revisions written one after the other chain up before a rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptHeader {
    /// The file.
    pub path: PathBuf,
    /// The revision id.
    pub id: String,
    /// The ids it revises.
    pub down_revisions: Vec<String>,
    /// The message.
    pub message: String,
    /// The creation date (empty when none).
    pub create_date: String,
}

/// The `*.rs` scripts of `versions` (files starting with `_` or `.` and
/// `mod.rs` are not scripts), sorted by file name.
///
/// # Errors
/// [`ErrorKind::Script`] when the directory cannot be read, a file has no
/// `Revision::new("<id>", &[…], "<message>")`, or its name does not match
/// its id.
pub fn read_scripts(versions: &Path) -> Result<Vec<ScriptHeader>> {
    let entries = std::fs::read_dir(versions).map_err(|e| {
        Error::new(
            ErrorKind::Script,
            format!(
                "cannot read the scripts directory {} ({e}); `db init` creates it",
                versions.display()
            ),
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            p.is_file() && n.ends_with(".rs") && !n.starts_with(['_', '.']) && n != "mod.rs"
        })
        .collect();
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::new(
                ErrorKind::Script,
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        let header = parse_header(&text).ok_or_else(|| {
            Error::new(
                ErrorKind::Script,
                format!(
                    "{} has no `Revision::new(\"<id>\", &[…], \"<message>\")` this tool can read",
                    path.display()
                ),
            )
        })?;
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        check_file_name(&file, &header.0)?;
        out.push(ScriptHeader {
            id: header.0,
            down_revisions: header.1,
            message: header.2,
            create_date: header.3,
            path,
        });
    }
    Ok(out)
}

/// `(id, downs, message, date)` from `Revision::new(…)[.created(…)]`.
fn parse_header(text: &str) -> Option<(String, Vec<String>, String, String)> {
    let start = text.find("Revision::new(")? + "Revision::new(".len();
    let mut p = Parser {
        s: &text[start..],
        i: 0,
    };
    let id = p.string()?;
    p.punct(',')?;
    p.punct('&')?;
    p.punct('[')?;
    let mut downs = Vec::new();
    loop {
        p.ws();
        if p.s[p.i..].starts_with(']') {
            p.i += 1;
            break;
        }
        downs.push(p.string()?);
        p.ws();
        if p.s[p.i..].starts_with(',') {
            p.i += 1;
        }
    }
    p.punct(',')?;
    let message = p.string()?;
    let rest = &p.s[p.i..];
    let date = match rest.find(".created(") {
        Some(k) if !rest[..k].contains(';') => {
            let mut d = Parser {
                s: &rest[k + ".created(".len()..],
                i: 0,
            };
            d.string()?
        }
        _ => String::new(),
    };
    Some((id, downs, message, date))
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(char::is_whitespace) {
            self.i += self.s[self.i..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn punct(&mut self, c: char) -> Option<()> {
        self.ws();
        if self.s[self.i..].starts_with(c) {
            self.i += c.len_utf8();
            Some(())
        } else {
            None
        }
    }

    /// A Rust string literal with the usual escapes.
    fn string(&mut self) -> Option<String> {
        self.punct('"')?;
        let mut out = String::new();
        let mut chars = self.s[self.i..].char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += k + 1;
                    return Some(out);
                }
                '\\' => match chars.next()?.1 {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    '\n' => {
                        // a line continuation: skip leading whitespace
                        while let Some((_, w)) = chars.clone().next() {
                            if !w.is_whitespace() {
                                break;
                            }
                            chars.next();
                        }
                    }
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        None
    }
}

/// A Rust string literal for `s`.
fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

/// Alembic's slug: the message's words, lower-cased, joined by `_`, cut
/// at a word boundary within 40 characters.
///
/// ```
/// assert_eq!(aludel_migrate::slug("Add account table"), "add_account_table");
/// assert_eq!(
///     aludel_migrate::slug("a very long message that exceeds the limit of forty"),
///     "a_very_long_message_that_exceeds_the"
/// );
/// ```
pub fn slug(message: &str) -> String {
    let words: Vec<String> = message
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut out = String::new();
    for w in words {
        let len = out.len() + usize::from(!out.is_empty()) + w.len();
        if len > 40 {
            if out.is_empty() {
                out = w.chars().take(40).collect();
            }
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&w);
    }
    out
}

/// The text of a new script: the header comment, `REVISION` and empty
/// `upgrade` / `downgrade` bodies. The prelude of the migrate crate is in
/// scope in every script ([`migrations!`](crate::migrations!) puts it
/// there), so a script names `Ops`, `Table`, `Column`, `SqlType`… directly.
pub fn render_script(
    id: &str,
    down_revisions: &[String],
    message: &str,
    create_date: &str,
) -> String {
    let downs = down_revisions
        .iter()
        .map(|d| rust_str(d))
        .collect::<Vec<_>>()
        .join(", ");
    let revises = if down_revisions.is_empty() {
        "<base>".to_string()
    } else {
        down_revisions.join(", ")
    };
    let shown = if message.is_empty() {
        "empty message"
    } else {
        message
    };
    format!(
        "// {shown}
//
// Revision ID: {id}
// Revises: {revises}
// Create Date: {create_date}
//
// The prelude of aludel_migrate is in scope (Ops, Revision, Table, Column,
// SqlType, AlterColumn, params!, Connection, Result…).

pub const REVISION: Revision = Revision::new({}, &[{downs}], {})
    .created({})
    .upgrade(upgrade)
    .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {{
    let _ = op;
    Ok(())
}}

fn downgrade(op: &mut Ops) -> Result<()> {{
    let _ = op;
    Ok(())
}}
",
        rust_str(id),
        rust_str(message),
        rust_str(create_date),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_script_reads_back() {
        let text = render_script(
            "ae1027a6acf0",
            &["aaaaaaaaaaaa".into(), "bbbbbbbbbbbb".into()],
            "merge \"heads\"",
            "2024-05-01 10:00:00.000000",
        );
        let (id, downs, msg, date) = parse_header(&text).unwrap();
        assert_eq!(id, "ae1027a6acf0");
        assert_eq!(downs, ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]);
        assert_eq!(msg, "merge \"heads\"");
        assert_eq!(date, "2024-05-01 10:00:00.000000");
        let text = render_script("1975ea83b712", &[], "", "");
        let (_, downs, msg, _) = parse_header(&text).unwrap();
        assert!(downs.is_empty());
        assert_eq!(msg, "");
        assert!(text.contains("// empty message"));
    }

    #[test]
    fn file_names_must_start_with_the_id() {
        check_file_name("ae1027a6acf0_add.rs", "ae1027a6acf0").unwrap();
        check_file_name("ae1027a6acf0.rs", "ae1027a6acf0").unwrap();
        let e = check_file_name("ae1027a6acf1_add.rs", "ae1027a6acf0").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Script);
        assert!(
            e.message().contains("'ae1027a6acf0'") && e.message().contains("'ae1027a6acf1'"),
            "{e}"
        );
    }
}
