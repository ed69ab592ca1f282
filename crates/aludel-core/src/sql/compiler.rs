//! The statement compiler: one walk over the tree per dialect, producing SQL
//! text with the dialect's placeholders and the values to bind, in order.
//! Identifiers are always quoted by the dialect; values are never spliced.

use std::borrow::Cow;

use super::expr::{BinOp, ColumnRef, Expr, Nulls, OrderBy, Source, TableRef};
use super::select::{
    Delete, FromItem, Insert, InsertSource, Join, JoinKind, OnConflict, Select, SetOp, Update,
};
use super::{CompiledStatement, Executable, Params};
use crate::dialect::Dialect;
use crate::error::{Error, ErrorKind, Result};
use crate::schema::{SqlType, Table};
use crate::url::Backend;
use crate::value::Value;

/// What a name in FROM stands for, for checking column references.
struct Scope {
    name: String,
    table: Option<Table>,
    /// Known output columns of a subquery or CTE (empty: unknown).
    columns: Vec<String>,
}

pub(crate) struct Compiler<'a> {
    d: &'a Dialect,
    out: String,
    values: Vec<Value>,
    params: &'a Params,
    used_params: Vec<bool>,
    scopes: Vec<Vec<Scope>>,
    ctes: Vec<(String, Vec<String>)>,
    /// While filling the compiled cache: where each bound value came from.
    record: Option<super::cache::Recorder>,
}

fn unsupported(what: &str, d: &Dialect) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{what} is not supported by the {} dialect", d.name()),
    )
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(d: &'a Dialect, params: &'a Params) -> Self {
        Compiler {
            d,
            out: String::with_capacity(128),
            values: Vec::new(),
            params,
            used_params: vec![false; params.len()],
            scopes: Vec::new(),
            ctes: Vec::new(),
            record: None,
        }
    }

    pub(crate) fn recording(mut self, rec: super::cache::Recorder) -> Self {
        self.record = Some(rec);
        self
    }

    pub(crate) fn take_recorder(&mut self) -> Option<super::cache::Recorder> {
        self.record.take()
    }

    pub(crate) fn finish(self) -> Result<CompiledStatement<'static>> {
        if let Some(i) = self.used_params.iter().position(|u| !u) {
            let name = &self.params.as_slice()[i].0;
            return Err(Error::new(
                ErrorKind::Bind,
                format!("unexpected bind parameter \"{name}\": the statement has no bindparam(\"{name}\")"),
            ));
        }
        Ok(CompiledStatement {
            sql: Cow::Owned(self.out),
            values: self.values,
        })
    }

    fn w(&mut self, s: &str) {
        self.out.push_str(s);
    }

    fn ident(&mut self, name: &str) {
        self.d.push_quoted(&mut self.out, name);
    }

    fn bind(&mut self, v: Value, src: super::cache::BindSrc) {
        if let Some(rec) = &mut self.record {
            rec.note(src, self.params);
        }
        self.values.push(v);
        if self.d.backend() == Backend::Postgres {
            use std::fmt::Write;
            let _ = write!(self.out, "${}", self.values.len());
        } else {
            self.out.push('?');
        }
    }

    fn list<T>(
        &mut self,
        items: &[T],
        mut f: impl FnMut(&mut Self, &T) -> Result<()>,
    ) -> Result<()> {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.w(", ");
            }
            f(self, item)?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- scopes

    fn lookup(&self, source: &str) -> Option<&Scope> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter())
            .find(|s| s.name == source)
    }

    fn column(&mut self, c: &ColumnRef) -> Result<()> {
        let source = c.source.name();
        let Some(scope) = self.lookup(source) else {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "column \"{source}\".\"{}\" refers to \"{source}\", which is not in the FROM list of this statement; \
                     add it with .from() or a join",
                    c.name
                ),
            )
            .with_table(Some(source.to_string()))
            .with_column(Some(c.name.clone())));
        };
        if let Some(table) = &scope.table {
            table.column(&c.name)?;
        } else if !scope.columns.is_empty() && !scope.columns.contains(&c.name) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "no column \"{}\" in \"{source}\"; its columns are {}",
                    c.name,
                    scope.columns.join(", ")
                ),
            ));
        }
        self.ident(source);
        self.w(".");
        self.ident(&c.name);
        Ok(())
    }

    fn table_scope(t: &TableRef) -> Scope {
        Scope {
            name: t.name().to_string(),
            table: Some(t.table.clone()),
            columns: Vec::new(),
        }
    }

    fn scope_of(&self, item: &FromItem) -> Scope {
        match item {
            FromItem::Table(t) => Self::table_scope(t),
            FromItem::Subquery(s, alias) => Scope {
                name: alias.clone(),
                table: None,
                columns: output_names(s),
            },
            FromItem::Cte(name) => Scope {
                name: name.clone(),
                table: None,
                columns: self
                    .ctes
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default(),
            },
        }
    }

    // ------------------------------------------------------------ expressions

    pub(crate) fn expr(&mut self, e: &Expr) -> Result<()> {
        match e {
            Expr::Column(c) => self.column(c)?,
            Expr::Value(v) => self.bind(v.clone(), super::cache::BindSrc::of(v)),
            Expr::Null => self.w("NULL"),
            Expr::Param(name) => self.param(name)?,
            Expr::Star(None) => self.w("*"),
            Expr::Star(Some(t)) => {
                self.ident(t);
                self.w(".*");
            }
            Expr::Raw(sql) => self.w(sql),
            Expr::Binary(BinOp::Concat, l, r) if self.d.backend() == Backend::Mysql => {
                self.w("concat(");
                self.expr(l)?;
                self.w(", ");
                self.expr(r)?;
                self.w(")");
            }
            Expr::Binary(op, l, r) => {
                // `x = NULL` is never true: write IS NULL, as SQLAlchemy does.
                if matches!(**r, Expr::Null) && matches!(op, BinOp::Eq | BinOp::Ne) {
                    return self.is_null(l, *op == BinOp::Ne);
                }
                self.w("(");
                self.expr(l)?;
                self.w(match op {
                    BinOp::Eq => " = ",
                    BinOp::Ne => " <> ",
                    BinOp::Lt => " < ",
                    BinOp::Le => " <= ",
                    BinOp::Gt => " > ",
                    BinOp::Ge => " >= ",
                    BinOp::Add => " + ",
                    BinOp::Sub => " - ",
                    BinOp::Mul => " * ",
                    BinOp::Div => " / ",
                    BinOp::Mod => " % ",
                    BinOp::Concat => " || ",
                });
                self.expr(r)?;
                self.w(")");
            }
            Expr::And(items) | Expr::Or(items) if items.is_empty() => {
                self.w(if matches!(e, Expr::And(_)) {
                    "(1 = 1)"
                } else {
                    "(1 = 0)"
                });
            }
            Expr::And(items) | Expr::Or(items) => {
                let sep = if matches!(e, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.w("(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.w(sep);
                    }
                    self.expr(item)?;
                }
                self.w(")");
            }
            Expr::Not(inner) => {
                self.w("(NOT ");
                self.expr(inner)?;
                self.w(")");
            }
            Expr::IsNull(inner, negated) => {
                self.w("(");
                self.expr(inner)?;
                self.w(if *negated {
                    " IS NOT NULL)"
                } else {
                    " IS NULL)"
                });
            }
            // An empty IN list is valid nowhere: it is false (NOT IN: true).
            Expr::InList(_, list, negated) if list.is_empty() => {
                self.w(if *negated { "(1 = 1)" } else { "(1 = 0)" });
            }
            Expr::InList(inner, list, negated) => {
                self.w("(");
                self.expr(inner)?;
                self.w(if *negated { " NOT IN (" } else { " IN (" });
                self.list(list, |c, e| c.expr(e))?;
                self.w("))");
            }
            Expr::InSelect(inner, select, negated) => {
                self.w("(");
                self.expr(inner)?;
                self.w(if *negated { " NOT IN (" } else { " IN (" });
                self.select(select)?;
                self.w("))");
            }
            Expr::Between(inner, lo, hi, negated) => {
                self.w("(");
                self.expr(inner)?;
                self.w(if *negated {
                    " NOT BETWEEN "
                } else {
                    " BETWEEN "
                });
                self.expr(lo)?;
                self.w(" AND ");
                self.expr(hi)?;
                self.w(")");
            }
            Expr::Like {
                expr,
                pattern,
                ilike,
                negated,
            } => {
                let native_ilike = *ilike && self.d.backend() == Backend::Postgres;
                let lower = *ilike && !native_ilike;
                self.w("(");
                if lower {
                    self.w("lower(");
                }
                self.expr(expr)?;
                if lower {
                    self.w(")");
                }
                self.w(match (native_ilike, negated) {
                    (true, false) => " ILIKE ",
                    (true, true) => " NOT ILIKE ",
                    (false, false) => " LIKE ",
                    (false, true) => " NOT LIKE ",
                });
                if lower {
                    self.w("lower(");
                }
                self.expr(pattern)?;
                if lower {
                    self.w(")");
                }
                self.w(")");
            }
            Expr::Func {
                name,
                args,
                distinct,
            } => {
                if !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!("invalid SQL function name {name:?}: use letters, digits and underscores"),
                    ));
                }
                self.w(name);
                self.w("(");
                if *distinct {
                    self.w("DISTINCT ");
                }
                self.list(args, |c, e| c.expr(e))?;
                self.w(")");
            }
            Expr::Cast(inner, ty) => {
                self.w("CAST(");
                self.expr(inner)?;
                self.w(" AS ");
                let name = cast_type(self.d, ty)?;
                self.w(&name);
                self.w(")");
            }
            Expr::Case(whens, else_) => {
                self.w("CASE");
                for (cond, then) in whens {
                    self.w(" WHEN ");
                    self.expr(cond)?;
                    self.w(" THEN ");
                    self.expr(then)?;
                }
                if let Some(e) = else_ {
                    self.w(" ELSE ");
                    self.expr(e)?;
                }
                self.w(" END");
            }
            Expr::Subquery(select) => {
                self.w("(");
                self.select(select)?;
                self.w(")");
            }
            Expr::Exists(select) => {
                self.w("EXISTS (");
                self.select(select)?;
                self.w(")");
            }
            Expr::Label(inner, label) => {
                self.expr(inner)?;
                self.w(" AS ");
                self.ident(label);
            }
            Expr::Over(inner, partition, order) => {
                self.expr(inner)?;
                self.w(" OVER (");
                if !partition.is_empty() {
                    self.w("PARTITION BY ");
                    self.list(partition, |c, e| c.expr(e))?;
                }
                if !order.is_empty() {
                    if !partition.is_empty() {
                        self.w(" ");
                    }
                    self.w("ORDER BY ");
                    self.order_items(order)?;
                }
                self.w(")");
            }
            Expr::Tuple(items) => {
                self.w("(");
                self.list(items, |c, e| c.expr(e))?;
                self.w(")");
            }
        }
        Ok(())
    }

    fn is_null(&mut self, inner: &Expr, negated: bool) -> Result<()> {
        self.w("(");
        self.expr(inner)?;
        self.w(if negated {
            " IS NOT NULL)"
        } else {
            " IS NULL)"
        });
        Ok(())
    }

    /// A selected expression. PostgreSQL cannot infer the type of a bare
    /// parameter in the select list (`SELECT $1` is text), so a value there
    /// carries a cast to its own type, as SQLAlchemy's asyncpg dialect does.
    fn select_item(&mut self, e: &Expr) -> Result<()> {
        let pg = self.d.backend() == Backend::Postgres;
        match e {
            Expr::Value(v) if pg => {
                self.bind(v.clone(), super::cache::BindSrc::of(v));
                if let Some(ty) = pg_value_type(v) {
                    self.w("::");
                    self.w(ty);
                }
                Ok(())
            }
            Expr::Label(inner, label) if pg && matches!(**inner, Expr::Value(_)) => {
                self.select_item(inner)?;
                self.w(" AS ");
                self.ident(label);
                Ok(())
            }
            _ => self.expr(e),
        }
    }

    fn param(&mut self, name: &str) -> Result<()> {
        if let Some(detail) = name.strip_prefix('\u{0}') {
            return Err(Error::new(
                ErrorKind::Bind,
                format!("every row of a multi-row INSERT must name the same columns: {detail}"),
            ));
        }
        let found = self.params.as_slice().iter().position(|(n, _)| n == name);
        match found {
            Some(i) => {
                self.used_params[i] = true;
                let v = self.params.as_slice()[i].1.clone();
                self.bind(v, super::cache::BindSrc::Param(i));
                Ok(())
            }
            None => Err(Error::new(
                ErrorKind::Bind,
                format!("missing bind parameter \"{name}\""),
            )),
        }
    }

    fn order_items(&mut self, items: &[OrderBy]) -> Result<()> {
        let mysql = self.d.backend() == Backend::Mysql;
        self.list(items, |c, o| {
            // MySQL has no NULLS FIRST/LAST: sort on `x IS NULL` first.
            if let (true, Some(nulls)) = (mysql, o.nulls) {
                c.is_null(&o.expr, false)?;
                c.w(if nulls == Nulls::First {
                    " DESC, "
                } else {
                    " ASC, "
                });
            }
            c.expr(&o.expr)?;
            if o.desc {
                c.w(" DESC");
            }
            if let (false, Some(nulls)) = (mysql, o.nulls) {
                c.w(if nulls == Nulls::First {
                    " NULLS FIRST"
                } else {
                    " NULLS LAST"
                });
            }
            Ok(())
        })
    }

    // ------------------------------------------------------------- statements

    pub(crate) fn select(&mut self, s: &Select) -> Result<()> {
        if !s.ctes.is_empty() {
            let recursive = s.ctes.iter().any(|c| c.recursive);
            self.w(if recursive {
                "WITH RECURSIVE "
            } else {
                "WITH "
            });
            for (i, cte) in s.ctes.iter().enumerate() {
                if i > 0 {
                    self.w(", ");
                }
                let Some(body) = &cte.body else {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "CTE \"{}\" has no definition: use .defined() or .recursive()",
                            cte.name
                        ),
                    ));
                };
                let cols = if cte.columns.is_empty() {
                    output_names(body)
                } else {
                    cte.columns.clone()
                };
                // Visible inside its own body when recursive.
                self.ctes.push((cte.name.clone(), cols));
                self.ident(&cte.name);
                if !cte.columns.is_empty() {
                    self.w(" (");
                    self.list(&cte.columns, |c, n| {
                        c.ident(n);
                        Ok(())
                    })?;
                    self.w(")");
                }
                self.w(" AS (");
                self.select(body)?;
                self.w(")");
            }
            self.w(" ");
        }
        let compound = !s.compound.is_empty();
        // Parenthesise the parts of a compound where the dialect allows it
        // (SQLite does not), so each part's ORDER BY / LIMIT stays its own.
        let paren = compound && self.d.backend() != Backend::Sqlite;
        if paren {
            self.w("(");
        }
        self.simple_select(s)?;
        if paren {
            self.w(")");
        }
        for (op, other) in &s.compound {
            let intersect_like = matches!(op, SetOp::Intersect | SetOp::Except);
            if intersect_like && self.d.backend() == Backend::Mysql && !self.d.is_mariadb() {
                return Err(unsupported(
                    if *op == SetOp::Intersect {
                        "INTERSECT"
                    } else {
                        "EXCEPT"
                    },
                    self.d,
                ));
            }
            self.w(match op {
                SetOp::Union => " UNION ",
                SetOp::UnionAll => " UNION ALL ",
                SetOp::Intersect => " INTERSECT ",
                SetOp::Except => " EXCEPT ",
            });
            if paren {
                self.w("(");
            }
            self.simple_select(other)?;
            if paren {
                self.w(")");
            }
        }
        if let Some(lock) = &s.for_update {
            self.for_update(lock);
        }
        Ok(())
    }

    /// The row-lock clause; none on SQLite, which has no row locks.
    fn for_update(&mut self, lock: &super::select::ForUpdate) {
        match self.d.backend() {
            Backend::Sqlite => return,
            Backend::Mysql if lock.read && self.d.is_mariadb() => self.w(" LOCK IN SHARE MODE"),
            _ if lock.read => self.w(" FOR SHARE"),
            _ => self.w(" FOR UPDATE"),
        }
        if lock.nowait {
            self.w(" NOWAIT");
        }
        if lock.skip_locked {
            self.w(" SKIP LOCKED");
        }
    }

    fn simple_select(&mut self, s: &Select) -> Result<()> {
        // FROM: explicit items, or the tables of the selected columns that an
        // enclosing statement does not already provide (auto-correlation).
        let mut from: Vec<FromItem> = s.from.clone();
        if from.is_empty() && s.joins.is_empty() {
            for e in &s.columns {
                collect_tables(e, &mut |t: &TableRef| {
                    let known = from.iter().any(|f| f.name() == t.name())
                        || self.lookup(t.name()).is_some();
                    if !known {
                        from.push(FromItem::Table(t.clone()));
                    }
                });
            }
        }
        let mut scope: Vec<Scope> = from.iter().map(|f| self.scope_of(f)).collect();
        scope.extend(s.joins.iter().map(|j| self.scope_of(&j.item)));
        self.scopes.push(scope);
        let res = self.select_body(s, &from);
        self.scopes.pop();
        res
    }

    fn select_body(&mut self, s: &Select, from: &[FromItem]) -> Result<()> {
        self.w("SELECT ");
        if s.distinct {
            self.w("DISTINCT ");
        }
        if s.columns.is_empty() {
            self.w("*");
        } else {
            self.list(&s.columns, |c, e| c.select_item(e))?;
        }
        if !from.is_empty() {
            self.w(" FROM ");
            self.list(from, |c, f| c.write_from_item(f))?;
        }
        let mut left: Vec<FromItem> = from.to_vec();
        for j in &s.joins {
            self.join(j, &left)?;
            left.push(j.item.clone());
        }
        if !s.filters.is_empty() {
            self.w(" WHERE ");
            self.conjunction(&s.filters)?;
        }
        if !s.group_by.is_empty() {
            self.w(" GROUP BY ");
            self.list(&s.group_by, |c, e| c.expr(e))?;
        }
        if !s.having.is_empty() {
            self.w(" HAVING ");
            self.conjunction(&s.having)?;
        }
        if !s.order_by.is_empty() {
            self.w(" ORDER BY ");
            self.order_items(&s.order_by)?;
        }
        self.limit_offset(&s.limit, &s.offset);
        Ok(())
    }

    fn conjunction(&mut self, items: &[Expr]) -> Result<()> {
        match items {
            [one] => self.expr(one),
            many => {
                self.w("(");
                for (i, item) in many.iter().enumerate() {
                    if i > 0 {
                        self.w(" AND ");
                    }
                    self.expr(item)?;
                }
                self.w(")");
                Ok(())
            }
        }
    }

    fn limit_offset(&mut self, limit: &Option<u64>, offset: &Option<u64>) {
        use super::cache::BindSrc;
        let count = |c: &mut Self, n: &u64| {
            c.bind(
                Value::I64(i64::try_from(*n).unwrap_or(i64::MAX)),
                BindSrc::of(n),
            );
        };
        match (self.d.backend(), limit, offset) {
            (_, None, None) => {}
            (Backend::Mysql, Some(l), None) => {
                self.w(" LIMIT ");
                count(self, l);
            }
            (Backend::Mysql, l, Some(o)) => {
                self.w(" LIMIT ");
                count(self, o);
                self.w(", ");
                // MySQL has no OFFSET without LIMIT: the largest row count.
                match l {
                    Some(l) => count(self, l),
                    None => self.w("18446744073709551615"),
                }
            }
            (backend, l, o) => {
                match l {
                    Some(l) => {
                        self.w(" LIMIT ");
                        count(self, l);
                    }
                    // SQLite needs a LIMIT before OFFSET: -1 is "no limit".
                    None if backend == Backend::Sqlite => self.w(" LIMIT -1"),
                    None => {}
                }
                if let Some(o) = o {
                    self.w(" OFFSET ");
                    count(self, o);
                }
            }
        }
    }

    fn write_from_item(&mut self, f: &FromItem) -> Result<()> {
        match f {
            FromItem::Table(t) => self.table_ref(t),
            FromItem::Subquery(s, alias) => {
                self.w("(");
                self.select(s)?;
                self.w(") AS ");
                self.ident(alias);
            }
            FromItem::Cte(name) => self.ident(name),
        }
        Ok(())
    }

    fn table_ref(&mut self, t: &TableRef) {
        if let Some(schema) = t.table.schema() {
            self.ident(schema);
            self.w(".");
        }
        self.ident(t.table.name());
        if let Some(alias) = &t.alias {
            self.w(" AS ");
            self.ident(alias);
        }
    }

    fn join(&mut self, j: &Join, left: &[FromItem]) -> Result<()> {
        self.w(match j.kind {
            JoinKind::Inner => " JOIN ",
            JoinKind::Left => " LEFT OUTER JOIN ",
            JoinKind::Full if self.d.backend() == Backend::Mysql => {
                return Err(unsupported("FULL OUTER JOIN", self.d));
            }
            JoinKind::Full => " FULL OUTER JOIN ",
        });
        self.write_from_item(&j.item)?;
        self.w(" ON ");
        match &j.on {
            Some(on) => self.expr(on),
            None => {
                let on = infer_on(left, &j.item)?;
                self.expr(&on)
            }
        }
    }

    fn target_scope(&mut self, table: &Table) {
        self.scopes.push(vec![Scope {
            name: table.name().to_string(),
            table: Some(table.clone()),
            columns: Vec::new(),
        }]);
    }

    fn returning(&mut self, exprs: &[Expr]) -> Result<()> {
        if exprs.is_empty() {
            return Ok(());
        }
        if !self.d.supports_returning() {
            return Err(unsupported("RETURNING", self.d));
        }
        self.w(" RETURNING ");
        self.list(exprs, |c, e| c.expr(e))
    }

    pub(crate) fn insert(&mut self, ins: &Insert) -> Result<()> {
        let t = &ins.table;
        let ignore = matches!(ins.on_conflict, Some(OnConflict::Nothing(_)))
            && self.d.backend() == Backend::Mysql;
        self.w(if ignore {
            "INSERT IGNORE INTO "
        } else {
            "INSERT INTO "
        });
        self.table_ref(&TableRef::from(t));
        let cols = match &ins.source {
            InsertSource::Rows(cols, _) | InsertSource::Select(cols, _) => cols,
        };
        for c in cols {
            t.column(c)?;
        }
        if !cols.is_empty() {
            self.w(" (");
            self.list(cols, |c, n| {
                c.ident(n);
                Ok(())
            })?;
            self.w(")");
        }
        match &ins.source {
            InsertSource::Rows(_, rows) if rows.is_empty() => {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "INSERT INTO \"{}\" has no rows: call .values() or .from_select()",
                        t.name()
                    ),
                ))
            }
            InsertSource::Rows(cols, rows) if cols.is_empty() => {
                let _ = rows;
                self.w(if self.d.backend() == Backend::Mysql {
                    " () VALUES ()"
                } else {
                    " DEFAULT VALUES"
                });
            }
            InsertSource::Rows(_, rows) => {
                self.w(" VALUES ");
                self.target_scope(t);
                let res = self.list(rows, |c, row| {
                    c.w("(");
                    c.list(row, |c, e| c.expr(e))?;
                    c.w(")");
                    Ok(())
                });
                self.scopes.pop();
                res?;
            }
            InsertSource::Select(_, select) => {
                self.w(" ");
                self.select(select)?;
            }
        }
        if let Some(oc) = &ins.on_conflict {
            self.on_conflict(t, oc)?;
        }
        self.target_scope(t);
        let res = self.returning(&ins.returning);
        self.scopes.pop();
        res
    }

    fn on_conflict(&mut self, t: &Table, oc: &OnConflict) -> Result<()> {
        let mysql = self.d.backend() == Backend::Mysql;
        match oc {
            OnConflict::Nothing(_) if mysql => {}
            OnConflict::Nothing(target) => {
                self.w(" ON CONFLICT");
                if !target.is_empty() {
                    self.w(" (");
                    self.list(target, |c, n| {
                        c.ident(n);
                        Ok(())
                    })?;
                    self.w(")");
                }
                self.w(" DO NOTHING");
            }
            OnConflict::Update { target, set } => {
                for n in target.iter().chain(set) {
                    t.column(n)?;
                }
                if mysql {
                    self.w(" ON DUPLICATE KEY UPDATE ");
                } else {
                    if target.is_empty() {
                        return Err(Error::new(
                            ErrorKind::Config,
                            format!(
                                "an upsert on {} needs the conflict target's columns",
                                self.d.name()
                            ),
                        ));
                    }
                    self.w(" ON CONFLICT (");
                    self.list(target, |c, n| {
                        c.ident(n);
                        Ok(())
                    })?;
                    self.w(") DO UPDATE SET ");
                }
                self.list(set, |c, n| {
                    c.ident(n);
                    c.w(" = ");
                    if mysql {
                        c.w("VALUES(");
                        c.ident(n);
                        c.w(")");
                    } else {
                        c.w("excluded.");
                        c.ident(n);
                    }
                    Ok(())
                })?;
            }
        }
        Ok(())
    }

    pub(crate) fn update(&mut self, u: &Update) -> Result<()> {
        if u.set.is_empty() {
            return Err(Error::new(
                ErrorKind::Config,
                format!("UPDATE \"{}\" sets nothing: call .set()", u.table.name()),
            ));
        }
        self.w("UPDATE ");
        self.table_ref(&TableRef::from(&u.table));
        self.w(" SET ");
        self.target_scope(&u.table);
        let res = (|| {
            self.list(&u.set, |c, (name, e)| {
                u.table.column(name)?;
                c.ident(name);
                c.w(" = ");
                c.expr(e)
            })?;
            if !u.filters.is_empty() {
                self.w(" WHERE ");
                self.conjunction(&u.filters)?;
            }
            // MariaDB has INSERT and DELETE … RETURNING, not UPDATE's.
            if !u.returning.is_empty() && self.d.backend() == Backend::Mysql {
                return Err(unsupported("UPDATE … RETURNING", self.d));
            }
            self.returning(&u.returning)
        })();
        self.scopes.pop();
        res
    }

    pub(crate) fn delete(&mut self, d: &Delete) -> Result<()> {
        self.w("DELETE FROM ");
        self.table_ref(&TableRef::from(&d.table));
        self.target_scope(&d.table);
        let res = (|| {
            if !d.filters.is_empty() {
                self.w(" WHERE ");
                self.conjunction(&d.filters)?;
            }
            self.returning(&d.returning)
        })();
        self.scopes.pop();
        res
    }
}

/// The output column names of a select, where they are evident.
fn output_names(s: &Select) -> Vec<String> {
    s.columns
        .iter()
        .map(|e| match e {
            Expr::Label(_, l) => Some(l.clone()),
            Expr::Column(c) => Some(c.name.clone()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default()
}

/// Every table referenced by columns inside `e` (not inside subqueries).
fn collect_tables(e: &Expr, f: &mut impl FnMut(&TableRef)) {
    match e {
        Expr::Column(ColumnRef {
            source: Source::Table(t),
            ..
        }) => f(t),
        Expr::Binary(_, a, b) => {
            collect_tables(a, f);
            collect_tables(b, f);
        }
        Expr::And(v) | Expr::Or(v) | Expr::Tuple(v) => v.iter().for_each(|e| collect_tables(e, f)),
        Expr::Func { args, .. } => args.iter().for_each(|e| collect_tables(e, f)),
        Expr::Not(a) | Expr::IsNull(a, _) | Expr::Cast(a, _) | Expr::Label(a, _) => {
            collect_tables(a, f)
        }
        Expr::Over(a, p, o) => {
            collect_tables(a, f);
            p.iter().for_each(|e| collect_tables(e, f));
            o.iter().for_each(|o| collect_tables(&o.expr, f));
        }
        Expr::Case(w, e) => {
            for (c, r) in w {
                collect_tables(c, f);
                collect_tables(r, f);
            }
            if let Some(e) = e {
                collect_tables(e, f);
            }
        }
        _ => {}
    }
}

/// ON for a join without one: the single foreign key between the joined
/// table and the tables already in FROM.
fn infer_on(left: &[FromItem], right: &FromItem) -> Result<Expr> {
    let FromItem::Table(r) = right else {
        return Err(Error::new(
            ErrorKind::Config,
            format!(
                "cannot infer the ON clause for \"{}\": give it with join_on()",
                right.name()
            ),
        ));
    };
    let mut found = Vec::new();
    for l in left {
        let FromItem::Table(l) = l else { continue };
        for (from, to) in [(l, r), (r, l)] {
            for fk in from.table.foreign_keys() {
                if fk.referred_table == to.table.name() {
                    let conds = fk
                        .columns
                        .iter()
                        .zip(&fk.referred_columns)
                        .map(|(a, b)| from.c(a).eq(to.c(b)))
                        .collect::<Vec<_>>();
                    found.push(if conds.len() == 1 {
                        conds.into_iter().next().expect("one")
                    } else {
                        Expr::And(conds)
                    });
                }
            }
        }
    }
    let names: Vec<String> = left.iter().map(|l| format!("\"{}\"", l.name())).collect();
    match found.len() {
        1 => Ok(found.pop().expect("one")),
        0 => Err(Error::new(
            ErrorKind::Config,
            format!(
                "no foreign key links \"{}\" with {}; give the ON clause with join_on()",
                r.name(),
                names.join(", ")
            ),
        )),
        n => Err(Error::new(
            ErrorKind::Config,
            format!(
                "{n} foreign keys link \"{}\" with {}; give the ON clause with join_on()",
                r.name(),
                names.join(", ")
            ),
        )),
    }
}

/// PostgreSQL's name for the type of a bound value.
fn pg_value_type(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::Bool(_) => "BOOLEAN",
        Value::I16(_) => "SMALLINT",
        Value::I32(_) => "INTEGER",
        Value::I64(_) => "BIGINT",
        Value::F32(_) => "REAL",
        Value::F64(_) => "DOUBLE PRECISION",
        Value::String(_) => "TEXT",
        Value::Bytes(_) => "BYTEA",
        Value::Uuid(_) => "UUID",
        Value::Decimal(_) => "NUMERIC",
        Value::Json(_) => "JSONB",
        #[cfg(feature = "chrono")]
        Value::Date(_) => "DATE",
        #[cfg(feature = "chrono")]
        Value::Time(_) => "TIME",
        #[cfg(feature = "chrono")]
        Value::DateTime(_) => "TIMESTAMP",
        #[cfg(feature = "chrono")]
        Value::DateTimeTz(_) => "TIMESTAMPTZ",
        _ => return None,
    })
}

/// The type name a CAST uses on each dialect (MySQL's CAST takes only a few).
fn cast_type(d: &Dialect, ty: &SqlType) -> Result<String> {
    let mysql = d.backend() == Backend::Mysql;
    Ok(match ty {
        SqlType::SmallInteger | SqlType::Integer | SqlType::BigInteger if mysql => "SIGNED".into(),
        SqlType::SmallInteger => "SMALLINT".into(),
        SqlType::Integer => "INTEGER".into(),
        SqlType::BigInteger => "BIGINT".into(),
        SqlType::Boolean if mysql => "SIGNED".into(),
        SqlType::Boolean => "BOOLEAN".into(),
        SqlType::String(Some(n)) if mysql => format!("CHAR({n})"),
        SqlType::String(_) | SqlType::Text if mysql => "CHAR".into(),
        SqlType::String(Some(n)) => format!("VARCHAR({n})"),
        SqlType::String(None) => "VARCHAR".into(),
        SqlType::Text => "TEXT".into(),
        SqlType::Float if mysql => "DOUBLE".into(),
        SqlType::Float if d.backend() == Backend::Sqlite => "REAL".into(),
        SqlType::Float => "DOUBLE PRECISION".into(),
        SqlType::Numeric {
            precision: Some(p),
            scale,
        } => {
            let kw = if mysql { "DECIMAL" } else { "NUMERIC" };
            format!("{kw}({p}, {})", scale.unwrap_or(0))
        }
        SqlType::Numeric { .. } => if mysql { "DECIMAL" } else { "NUMERIC" }.into(),
        SqlType::Date => "DATE".into(),
        SqlType::Time => "TIME".into(),
        SqlType::DateTime { .. } if mysql => "DATETIME".into(),
        SqlType::DateTime { timezone: true } if d.backend() == Backend::Postgres => {
            "TIMESTAMP WITH TIME ZONE".into()
        }
        SqlType::DateTime { .. } if d.backend() == Backend::Postgres => "TIMESTAMP".into(),
        SqlType::DateTime { .. } => "DATETIME".into(),
        SqlType::Uuid if d.backend() == Backend::Postgres => "UUID".into(),
        SqlType::Uuid if mysql => "CHAR(32)".into(),
        SqlType::Uuid => "VARCHAR(32)".into(),
        SqlType::Json if d.backend() == Backend::Postgres => "JSONB".into(),
        SqlType::Json => "JSON".into(),
        SqlType::LargeBinary if d.backend() == Backend::Postgres => "BYTEA".into(),
        SqlType::LargeBinary if mysql => "BINARY".into(),
        SqlType::LargeBinary => "BLOB".into(),
        SqlType::Enum { .. } => return Err(unsupported("CAST to an enum type", d)),
    })
}

macro_rules! executable {
    ($ty:ty, $method:ident, $read_only:expr) => {
        impl Executable for $ty {
            fn compile<'s>(
                &'s self,
                dialect: &Dialect,
                params: Params,
            ) -> Result<CompiledStatement<'s>> {
                super::cache::compile(self, dialect, params, |c, stmt| c.$method(stmt))
            }

            fn is_read_only(&self) -> bool {
                let read_only: fn(&Self) -> bool = $read_only;
                read_only(self)
            }
        }
    };
}
executable!(Select, select, |s| s.for_update.is_none());
executable!(Insert, insert, |_| false);
executable!(Update, update, |_| false);
executable!(Delete, delete, |_| false);

#[cfg(test)]
mod tests {
    use super::super::*;
    use crate::schema::{Column, SqlType, Table};
    use crate::url::Backend;
    use crate::Dialect;

    fn users() -> Table {
        Table::builder("users")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::string(50)))
            .column(Column::new("order", SqlType::Integer))
            .build()
            .unwrap()
    }

    fn posts() -> Table {
        Table::builder("posts")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("user_id", SqlType::Integer).references("users.id"))
            .column(Column::new("title", SqlType::Text))
            .build()
            .unwrap()
    }

    /// SQL and values for each dialect: sqlite, postgresql, mysql.
    fn sql(stmt: &impl Executable) -> [String; 3] {
        [Backend::Sqlite, Backend::Postgres, Backend::Mysql].map(|b| {
            let c = stmt.compile(&Dialect::new(b), Params::new()).unwrap();
            c.sql.into_owned()
        })
    }

    #[test]
    fn row_locks_per_dialect() {
        let u = users();
        let base = select([u.c("id")]).filter(u.c("id").eq(1)).limit(1);
        let [lite, pg, my] = sql(&base.clone().with_for_update(ForUpdate::new()));
        assert!(!lite.contains("FOR"), "SQLite has no row locks: {lite}");
        assert!(pg.ends_with("LIMIT $2 FOR UPDATE"), "{pg}");
        assert!(my.ends_with("LIMIT ? FOR UPDATE"), "{my}");
        let [_, pg, my] = sql(&base
            .clone()
            .with_for_update(ForUpdate::new().read().nowait()));
        assert!(pg.ends_with("FOR SHARE NOWAIT"), "{pg}");
        assert!(my.ends_with("FOR SHARE NOWAIT"), "MySQL 8: {my}");
        let maria = Dialect::new(Backend::Mysql);
        maria.set_server_version((10, 11, 6), true);
        let shared = base.clone().with_for_update(ForUpdate::new().read());
        let m = shared.compile(&maria, Params::new()).unwrap().sql;
        assert!(m.ends_with("LOCK IN SHARE MODE"), "{m}");
        let [_, pg, _] = sql(&base.clone().with_for_update(ForUpdate::new().skip_locked()));
        assert!(pg.ends_with("FOR UPDATE SKIP LOCKED"), "{pg}");
        // The lock is part of the cached shape and of read-only-ness.
        let d = Dialect::new(Backend::Postgres);
        let plain = base.compile(&d, Params::new()).unwrap().sql.into_owned();
        assert!(!plain.contains("FOR UPDATE"), "{plain}");
        assert!(base.is_read_only());
        assert!(!base.with_for_update(ForUpdate::new()).is_read_only());
    }

    fn err(stmt: &impl Executable, b: Backend) -> crate::Error {
        stmt.compile(&Dialect::new(b), Params::new()).unwrap_err()
    }

    #[test]
    fn select_where_order_limit() {
        let u = users();
        let stmt = select([u.c("id"), u.c("name")])
            .filter(u.c("name").eq("Ada").and(u.c("order").gt(2)))
            .order_by([u.c("name").desc().nulls_last()])
            .limit(10)
            .offset(5);
        let [sqlite, pg, my] = sql(&stmt);
        assert_eq!(
            sqlite,
            r#"SELECT "users"."id", "users"."name" FROM "users" WHERE (("users"."name" = ?) AND ("users"."order" > ?)) ORDER BY "users"."name" DESC NULLS LAST LIMIT ? OFFSET ?"#
        );
        assert_eq!(
            pg,
            r#"SELECT "users"."id", "users"."name" FROM "users" WHERE (("users"."name" = $1) AND ("users"."order" > $2)) ORDER BY "users"."name" DESC NULLS LAST LIMIT $3 OFFSET $4"#
        );
        assert_eq!(
            my,
            "SELECT `users`.`id`, `users`.`name` FROM `users` WHERE ((`users`.`name` = ?) AND (`users`.`order` > ?)) ORDER BY (`users`.`name` IS NULL) ASC, `users`.`name` DESC LIMIT ?, ?"
        );
        let c = stmt
            .compile(&Dialect::new(Backend::Mysql), Params::new())
            .unwrap();
        assert_eq!(
            c.values,
            [
                Value::from("Ada"),
                Value::I32(2),
                Value::I64(5),
                Value::I64(10)
            ]
        );
    }

    #[test]
    fn empty_in_and_ilike() {
        let u = users();
        let stmt = select([u.c("id")])
            .filter(u.c("id").in_(Vec::<i32>::new()).or(u.c("name").ilike("a%")));
        let [sqlite, pg, _] = sql(&stmt);
        assert!(
            sqlite.contains(r#"((1 = 0) OR (lower("users"."name") LIKE lower(?)))"#),
            "{sqlite}"
        );
        assert!(
            pg.contains(r#"((1 = 0) OR ("users"."name" ILIKE $1))"#),
            "{pg}"
        );
    }

    #[test]
    fn join_infers_on_from_the_foreign_key() {
        let (u, p) = (users(), posts());
        let stmt = select([u.c("name"), p.c("title")]).from(&u).join(&p);
        let [sqlite, ..] = sql(&stmt);
        assert_eq!(
            sqlite,
            r#"SELECT "users"."name", "posts"."title" FROM "users" JOIN "posts" ON ("posts"."user_id" = "users"."id")"#
        );
        let lonely = Table::builder("tags")
            .column(Column::new("id", SqlType::Integer))
            .build()
            .unwrap();
        let e = err(&select([u.c("id")]).from(&u).join(&lonely), Backend::Sqlite);
        assert!(
            e.to_string()
                .contains("no foreign key links \"tags\" with \"users\""),
            "{e}"
        );
    }

    #[test]
    fn unknown_column_and_table_not_in_from() {
        let (u, p) = (users(), posts());
        let e = err(&select([u.c("nmae")]), Backend::Postgres);
        assert!(
            e.to_string()
                .contains("no column \"nmae\" on table \"users\"; did you mean \"name\"?"),
            "{e}"
        );
        let e = err(
            &select([u.c("id")]).from(&u).filter(p.c("id").eq(1)),
            Backend::Postgres,
        );
        assert!(
            e.to_string()
                .contains("\"posts\".\"id\" refers to \"posts\", which is not in the FROM list"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_constructs_name_the_dialect() {
        let (u, p) = (users(), posts());
        let e = err(
            &select([u.c("id")])
                .from(&u)
                .full_join_on(&p, p.c("user_id").eq(u.c("id"))),
            Backend::Mysql,
        );
        assert_eq!(e.kind(), crate::ErrorKind::Unsupported);
        assert!(
            e.to_string()
                .contains("FULL OUTER JOIN is not supported by the mysql dialect"),
            "{e}"
        );
        let e = err(
            &insert(&u)
                .values([("name", "x".into())])
                .returning([u.c("id")]),
            Backend::Mysql,
        );
        assert!(
            e.to_string()
                .contains("RETURNING is not supported by the mysql dialect"),
            "{e}"
        );
    }

    #[test]
    fn correlated_subquery_and_exists() {
        let (u, p) = (users(), posts());
        let count = select([func::count_star()])
            .from(&p)
            .filter(p.c("user_id").eq(u.c("id")))
            .scalar_subquery();
        let stmt = select([u.c("name"), count.label("n")]).filter(exists(
            select([p.c("id")]).filter(p.c("user_id").eq(u.c("id"))),
        ));
        let [sqlite, ..] = sql(&stmt);
        assert_eq!(
            sqlite,
            r#"SELECT "users"."name", (SELECT count(*) FROM "posts" WHERE ("posts"."user_id" = "users"."id")) AS "n" FROM "users" WHERE EXISTS (SELECT "posts"."id" FROM "posts" WHERE ("posts"."user_id" = "users"."id"))"#
        );
    }

    #[test]
    fn compiled_cache_reuses_sql_with_new_values() {
        let u = users();
        let d = Dialect::new(Backend::Postgres);
        let q = |name: &str, n: u64| {
            select([u.c("id")])
                .filter(u.c("name").eq(name))
                .filter(u.c("order").gt(1))
                .order_by([u.c("name").desc().nulls_first()])
                .limit(n)
        };
        let (qa, qb) = (q("Ada", 5), q("Grace", 7));
        let a = qa.compile(&d, Params::new()).unwrap();
        assert_eq!(d.compiled_cache_len(), 1);
        let b = qb.compile(&d, Params::new()).unwrap();
        assert_eq!(d.compiled_cache_len(), 1, "same shape, one entry");
        assert_eq!(a.sql, b.sql);
        assert_eq!(
            b.values,
            [Value::from("Grace"), Value::I32(1), Value::I64(7)]
        );
        // Another shape (no limit) is another entry with other SQL.
        let qc = select([u.c("id")]).filter(u.c("name").eq("x"));
        let c = qc.compile(&d, Params::new()).unwrap();
        assert_ne!(c.sql, a.sql);
        assert_eq!(d.compiled_cache_len(), 2);
        // MySQL's emulated NULLS FIRST repeats the expression: still cached.
        let my = Dialect::new(Backend::Mysql);
        let a = qa.compile(&my, Params::new()).unwrap();
        let b = qb.compile(&my, Params::new()).unwrap();
        assert_eq!(my.compiled_cache_len(), 1);
        assert_eq!(a.sql, b.sql);
        assert_eq!(
            b.values,
            [Value::from("Grace"), Value::I32(1), Value::I64(7)]
        );
        // Named parameters come from the Params of each execution.
        let p = select([u.c("id")]).filter(u.c("name").eq(bindparam("n")));
        let one = p.compile(&d, crate::params! { "n": "a" }).unwrap();
        let two = p.compile(&d, crate::params! { "n": "b" }).unwrap();
        assert_eq!(
            (one.values, two.values),
            (vec![Value::from("a")], vec![Value::from("b")])
        );
        assert_eq!(
            p.compile(&d, Params::new()).unwrap_err().kind(),
            crate::ErrorKind::Bind
        );
        let uncached = Dialect::with_compiled_cache(Backend::Postgres, 0);
        qa.compile(&uncached, Params::new()).unwrap();
        assert_eq!(uncached.compiled_cache_len(), 0);
    }

    #[test]
    fn insert_many_update_delete_upsert() {
        let u = users();
        let ins = insert(&u).values_many([
            [("id", 1.into()), ("name", "a".into())],
            [("id", 2.into()), ("name", "b".into())],
        ]);
        let [sqlite, pg, my] = sql(&ins);
        assert_eq!(
            sqlite,
            r#"INSERT INTO "users" ("id", "name") VALUES (?, ?), (?, ?)"#
        );
        assert_eq!(
            pg,
            r#"INSERT INTO "users" ("id", "name") VALUES ($1, $2), ($3, $4)"#
        );
        assert_eq!(
            my,
            "INSERT INTO `users` (`id`, `name`) VALUES (?, ?), (?, ?)"
        );
        let up = insert(&u)
            .values([("id", 1.into()), ("name", "a".into())])
            .on_conflict_do_update(["id"], ["name"]);
        let [sqlite, _, my] = sql(&up);
        assert!(
            sqlite.ends_with(r#"ON CONFLICT ("id") DO UPDATE SET "name" = excluded."name""#),
            "{sqlite}"
        );
        assert!(
            my.ends_with("ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)"),
            "{my}"
        );
        let upd = update(&u).set("name", "z").filter(u.c("id").eq(1));
        assert_eq!(
            sql(&upd)[1],
            r#"UPDATE "users" SET "name" = $1 WHERE ("users"."id" = $2)"#
        );
        let del = delete(&u).filter(u.c("id").eq(1));
        assert_eq!(sql(&del)[2], "DELETE FROM `users` WHERE (`users`.`id` = ?)");
    }

    /// Every construct, compiled for each dialect, as one reviewed snapshot
    /// per dialect (SQLAlchemy's `assert_compile`).
    fn constructs() -> Vec<(&'static str, Box<dyn Executable>)> {
        let (u, p) = (users(), posts());
        let n = Cte::new("n").columns(["x"]);
        let older = u.alias("older");
        vec![
            ("select all", Box::new(select([u.star()]).from(&u))),
            (
                "comparisons",
                Box::new(select([u.c("id")]).filter(and([
                    u.c("id").ne(1),
                    u.c("id").le(9),
                    u.c("name").eq(Expr::Null),
                ]))),
            ),
            (
                "in and not in",
                Box::new(
                    select([u.c("id")]).filter(
                        u.c("id")
                            .in_([1, 2])
                            .or(u.c("id").not_in(Vec::<i32>::new())),
                    ),
                ),
            ),
            (
                "like ilike between",
                Box::new(
                    select([u.c("id")]).filter(
                        u.c("name")
                            .like("a%")
                            .and(u.c("name").ilike("B%"))
                            .and(u.c("id").between(1, 5)),
                    ),
                ),
            ),
            (
                "not and is null",
                Box::new(select([u.c("id")]).filter(not(u.c("name").is_null()))),
            ),
            (
                "join inferred",
                Box::new(select([u.c("name"), p.c("title")]).from(&u).join(&p)),
            ),
            (
                "left join",
                Box::new(select([u.c("name"), p.c("title")]).from(&u).left_join(&p)),
            ),
            (
                "self join alias",
                Box::new(
                    select([u.c("id"), older.c("id")])
                        .from(&u)
                        .join_on(&older, older.c("id").gt(u.c("id"))),
                ),
            ),
            (
                "group having",
                Box::new(
                    select([u.c("name"), func::count_star().label("n")])
                        .group_by([u.c("name")])
                        .having(func::count_star().gt(1)),
                ),
            ),
            (
                "order nulls limit offset",
                Box::new(
                    select([u.c("id")])
                        .order_by([u.c("name").asc().nulls_first(), u.c("id").desc()])
                        .limit(5)
                        .offset(10),
                ),
            ),
            ("offset only", Box::new(select([u.c("id")]).offset(10))),
            (
                "distinct case cast concat",
                Box::new(
                    select([
                        case([(u.c("id").gt(1), literal("big"))], Some(literal("small")))
                            .label("size"),
                        cast(u.c("id"), SqlType::string(10)),
                        u.c("name").concat("!"),
                    ])
                    .distinct(),
                ),
            ),
            (
                "window",
                Box::new(select([func::rank().over([u.c("name")], [u.c("id").desc()])]).from(&u)),
            ),
            (
                "exists and scalar subquery",
                Box::new(
                    select([
                        u.c("id"),
                        select([func::count_star()])
                            .from(&p)
                            .filter(p.c("user_id").eq(u.c("id")))
                            .scalar_subquery()
                            .label("posts"),
                    ])
                    .filter(exists(
                        select([p.c("id")]).filter(p.c("user_id").eq(u.c("id"))),
                    )),
                ),
            ),
            (
                "in select",
                Box::new(select([u.c("id")]).filter(u.c("id").in_select(select([p.c("user_id")])))),
            ),
            (
                "subquery in from",
                Box::new(
                    select([sq("s", "n")])
                        .from_subquery(select([func::count_star().label("n")]).from(&u), "s"),
                ),
            ),
            (
                "recursive cte",
                Box::new(
                    select([n.c("x")])
                        .with(
                            n.clone().recursive(
                                select([literal(1)]).union_all(
                                    select([n.c("x").add(1)])
                                        .from_cte(&n)
                                        .filter(n.c("x").lt(3)),
                                ),
                            ),
                        )
                        .from_cte_name("n"),
                ),
            ),
            (
                "union intersect",
                Box::new(
                    select([u.c("id")])
                        .union(select([p.c("user_id")]))
                        .intersect(select([p.c("id")])),
                ),
            ),
            (
                "insert one",
                Box::new(insert(&u).values([("id", Expr::from(1)), ("name", "a".into())])),
            ),
            (
                "insert from select",
                Box::new(insert(&u).from_select(["id", "name"], select([p.c("id"), p.c("title")]))),
            ),
            (
                "insert default values",
                Box::new(insert(&u).values(Vec::<(String, Expr)>::new())),
            ),
            (
                "upsert",
                Box::new(
                    insert(&u)
                        .values([("id", Expr::from(1)), ("name", "a".into())])
                        .on_conflict_do_update(["id"], ["name"]),
                ),
            ),
            (
                "insert ignore",
                Box::new(
                    insert(&u)
                        .values([("id", Expr::from(1))])
                        .on_conflict_do_nothing(["id"]),
                ),
            ),
            (
                "update",
                Box::new(
                    update(&u)
                        .set("name", u.c("name").concat("x"))
                        .filter(u.c("id").eq(bindparam("id"))),
                ),
            ),
            ("delete", Box::new(delete(&u).filter(u.c("id").lt(0)))),
        ]
    }

    fn snapshot(b: Backend) -> String {
        let d = Dialect::with_compiled_cache(b, 0);
        let mut out = String::new();
        for (name, stmt) in constructs() {
            let params = if name == "update" {
                crate::params! { "id": 1 }
            } else {
                Params::new()
            };
            let line = match stmt.compile(&d, params) {
                Ok(c) => format!("{}\n   values: {:?}", c.sql, c.values),
                Err(e) => format!("error: {e}"),
            };
            out.push_str(&format!("-- {name}\n{line}\n"));
        }
        out
    }

    #[test]
    fn snapshot_sqlite() {
        insta::assert_snapshot!("constructs_sqlite", snapshot(Backend::Sqlite));
    }

    #[test]
    fn snapshot_postgresql() {
        insta::assert_snapshot!("constructs_postgresql", snapshot(Backend::Postgres));
    }

    #[test]
    fn snapshot_mysql() {
        insta::assert_snapshot!("constructs_mysql", snapshot(Backend::Mysql));
    }
}
