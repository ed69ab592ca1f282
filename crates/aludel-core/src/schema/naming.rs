//! The naming convention for constraints and indexes, on by default, so
//! every constraint has a name a migration can drop later.

/// How unnamed constraints and indexes are named: SQLAlchemy's recommended
/// convention, `ix_<table>_<columns>`, `uq_<table>_<columns>`,
/// `ck_<table>_<name>`, `fk_<table>_<columns>_<referred table>`,
/// `pk_<table>`. Names longer than `max_length` are shortened with a hash
/// suffix, so they stay unique and fit PostgreSQL's 63 bytes.
///
/// ```
/// use aludel_core::schema::NamingConvention;
/// let nc = NamingConvention::default();
/// assert_eq!(nc.foreign_key("posts", &["user_id".into()], "users"), "fk_posts_user_id_users");
/// assert_eq!(nc.index("users", &["last".into(), "first".into()]), "ix_users_last_first");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingConvention {
    /// Longest name produced (63: PostgreSQL's limit, under MySQL's 64).
    pub max_length: usize,
}

impl Default for NamingConvention {
    fn default() -> Self {
        NamingConvention { max_length: 63 }
    }
}

impl NamingConvention {
    fn fit(&self, name: String) -> String {
        if name.len() <= self.max_length {
            return name;
        }
        // FNV-1a: stable across runs and platforms.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let suffix = format!("_{:08x}", hash as u32);
        let mut cut = self.max_length - suffix.len();
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}{suffix}", &name[..cut])
    }

    /// `pk_<table>`.
    pub fn primary_key(&self, table: &str) -> String {
        self.fit(format!("pk_{table}"))
    }

    /// `fk_<table>_<columns>_<referred table>`.
    pub fn foreign_key(&self, table: &str, columns: &[String], referred: &str) -> String {
        self.fit(format!("fk_{table}_{}_{referred}", columns.join("_")))
    }

    /// `uq_<table>_<columns>`.
    pub fn unique(&self, table: &str, columns: &[String]) -> String {
        self.fit(format!("uq_{table}_{}", columns.join("_")))
    }

    /// `ck_<table>_<name>`.
    pub fn check(&self, table: &str, name: &str) -> String {
        self.fit(format!("ck_{table}_{name}"))
    }

    /// `ix_<table>_<columns>`.
    pub fn index(&self, table: &str, columns: &[String]) -> String {
        self.fit(format!("ix_{table}_{}", columns.join("_")))
    }
}

#[cfg(test)]
mod tests {
    use super::NamingConvention;

    #[test]
    fn long_names_are_shortened_stably() {
        let nc = NamingConvention::default();
        let cols: Vec<String> = (0..10)
            .map(|i| format!("a_rather_long_column_{i}"))
            .collect();
        let a = nc.index("t", &cols);
        assert_eq!(a.len(), 63);
        assert_eq!(a, nc.index("t", &cols));
        assert_ne!(a, nc.index("u", &cols));
    }
}
