//! The revision graph: Alembic's `RevisionMap`. Checked when built
//! (duplicate ids, missing down revisions, cycles), and asked for heads,
//! bases, branch points, and the revisions an upgrade or a downgrade runs,
//! in Alembic's order.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::error::{Error, ErrorKind, Result};
use crate::revision::{invalid_id, Revision};

/// A checked set of revisions: every id unique, every `down_revision`
/// present, no cycle.
///
/// The order the revisions are given in is kept: it breaks ties where
/// Alembic's order does (Alembic uses the order it loaded the scripts in).
///
/// ```
/// use aludel_migrate::{Revision, Revisions};
/// const A: Revision = Revision::new("1975ea83b712", &[], "create user table");
/// const B: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "add account table");
/// const C: Revision = Revision::new("27c6a30d7c24", &["1975ea83b712"], "add post table");
/// let revs = Revisions::new([&A, &B, &C])?;
/// assert_eq!(revs.bases()[0].id(), "1975ea83b712");
/// let heads: Vec<&str> = revs.heads().iter().map(|r| r.id()).collect();
/// assert_eq!(heads, ["ae1027a6acf0", "27c6a30d7c24"]);
/// assert_eq!(revs.branch_points()[0].id(), "1975ea83b712");
/// assert_eq!(revs.resolve("ae10")?.id(), "ae1027a6acf0"); // a unique prefix
/// let err = revs.upgrade_revisions(&[], "head").unwrap_err();
/// assert!(err.to_string().contains("db merge"));
/// # Ok::<(), aludel_migrate::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Revisions {
    revs: Vec<Revision>,
    index: HashMap<&'static str, usize>,
    down: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

/// Where a resolved target points.
pub(crate) enum Target {
    /// Below every revision.
    Base,
    /// These revisions.
    Revs(Vec<usize>),
}

impl Revisions {
    /// Check `revisions` and build the graph. Takes revisions by value or
    /// by reference, so a generated registry of scripts can be a
    /// `static` slice:
    ///
    /// ```
    /// use aludel_migrate::{Revision, Revisions};
    /// pub const A: Revision = Revision::new("aaaaaaaaaaaa", &[], "a");
    /// pub const B: Revision = Revision::new("bbbbbbbbbbbb", &["aaaaaaaaaaaa"], "b");
    /// pub static REVISIONS: &[&Revision] = &[&A, &B];
    /// let revs = Revisions::new(REVISIONS)?;
    /// assert_eq!(revs.len(), 2);
    /// # Ok::<(), aludel_migrate::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::InvalidRevisionId`], [`ErrorKind::DuplicateRevision`],
    /// [`ErrorKind::MissingDownRevision`] or [`ErrorKind::Cycle`], each
    /// naming the revisions involved.
    pub fn new<I>(revisions: I) -> Result<Self>
    where
        I: IntoIterator,
        I::Item: AsRef<Revision>,
    {
        let revs: Vec<Revision> = revisions.into_iter().map(|r| *r.as_ref()).collect();
        let mut index = HashMap::new();
        for (i, r) in revs.iter().enumerate() {
            if let Some(why) = invalid_id(r.id()) {
                return Err(Error::new(
                    ErrorKind::InvalidRevisionId,
                    format!("invalid revision id '{}' ({}): {why}", r.id(), r.message()),
                )
                .with_revisions([r.id()]));
            }
            if let Some(&first) = index.get(r.id()) {
                let first: &Revision = &revs[first];
                return Err(Error::new(
                    ErrorKind::DuplicateRevision,
                    format!(
                        "two revisions have the id '{}': \"{}\" and \"{}\"; give one of them a new id",
                        r.id(),
                        first.message(),
                        r.message()
                    ),
                )
                .with_revisions([r.id()]));
            }
            index.insert(r.id(), i);
        }
        let mut down = Vec::with_capacity(revs.len());
        let mut children = vec![Vec::new(); revs.len()];
        for (i, r) in revs.iter().enumerate() {
            let mut ds = Vec::new();
            for d in r.down_revisions() {
                match index.get(d) {
                    Some(&j) => {
                        if ds.contains(&j) {
                            continue;
                        }
                        ds.push(j);
                        children[j].push(i);
                    }
                    None => {
                        return Err(Error::new(
                            ErrorKind::MissingDownRevision,
                            format!(
                            "revision '{}' ({}) revises '{d}', which is not among the revisions",
                            r.id(),
                            r.message()
                        ),
                        )
                        .with_revisions([r.id(), d]))
                    }
                }
            }
            down.push(ds);
        }
        let graph = Revisions {
            revs,
            index,
            down,
            children,
        };
        if let Some(cycle) = graph.find_cycle() {
            let ids: Vec<&str> = cycle.iter().map(|&i| graph.revs[i].id()).collect();
            let mut path = ids.join(" -> ");
            path.push_str(" -> ");
            path.push_str(ids[0]);
            return Err(Error::new(
                ErrorKind::Cycle,
                format!("the revisions form a cycle through their down_revisions: {path}"),
            )
            .with_revisions(ids));
        }
        Ok(graph)
    }

    /// A cycle along down-revision edges, as the indexes on it.
    fn find_cycle(&self) -> Option<Vec<usize>> {
        // 0 unvisited, 1 on the stack, 2 done.
        let mut state = vec![0u8; self.revs.len()];
        for start in 0..self.revs.len() {
            if state[start] != 0 {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            state[start] = 1;
            while let Some(&mut (v, ref mut next)) = stack.last_mut() {
                if let Some(&w) = self.down[v].get(*next) {
                    *next += 1;
                    match state[w] {
                        0 => {
                            state[w] = 1;
                            stack.push((w, 0));
                        }
                        1 => {
                            let from = stack.iter().position(|&(u, _)| u == w).unwrap_or(0);
                            return Some(stack[from..].iter().map(|&(u, _)| u).collect());
                        }
                        _ => {}
                    }
                } else {
                    state[v] = 2;
                    stack.pop();
                }
            }
        }
        None
    }

    /// How many revisions there are.
    pub fn len(&self) -> usize {
        self.revs.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.revs.is_empty()
    }

    /// The revisions, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Revision> {
        self.revs.iter()
    }

    /// The revision with exactly this id.
    pub fn get(&self, id: &str) -> Option<&Revision> {
        self.index.get(id).map(|&i| &self.revs[i])
    }

    pub(crate) fn at(&self, i: usize) -> &Revision {
        &self.revs[i]
    }

    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub(crate) fn down_of(&self, i: usize) -> &[usize] {
        &self.down[i]
    }

    fn head_indices(&self) -> Vec<usize> {
        (0..self.revs.len())
            .filter(|&i| self.children[i].is_empty())
            .collect()
    }

    /// The revisions nothing revises: where `upgrade heads` ends.
    pub fn heads(&self) -> Vec<&Revision> {
        self.head_indices()
            .into_iter()
            .map(|i| &self.revs[i])
            .collect()
    }

    /// The revisions that revise nothing: where history starts.
    pub fn bases(&self) -> Vec<&Revision> {
        self.revs.iter().filter(|r| r.is_base()).collect()
    }

    /// The revisions two or more revisions revise (where branches split).
    pub fn branch_points(&self) -> Vec<&Revision> {
        (0..self.revs.len())
            .filter(|&i| self.children[i].len() > 1)
            .map(|i| &self.revs[i])
            .collect()
    }

    /// The revisions that revise `id` directly.
    pub fn children(&self, id: &str) -> Vec<&Revision> {
        self.index_of(id)
            .map(|i| self.children[i].iter().map(|&c| &self.revs[c]).collect())
            .unwrap_or_default()
    }

    fn heads_list(&self) -> String {
        let heads: Vec<&str> = self.heads().iter().map(|r| r.id()).collect();
        if heads.is_empty() {
            "(none: there are no revisions)".into()
        } else {
            heads.join(", ")
        }
    }

    /// The revision named by a full id or a unique prefix of one (as
    /// Alembic accepts `ae1` for `ae1027a6acf0`).
    ///
    /// # Errors
    /// [`ErrorKind::UnknownRevision`] naming the id, listing the heads and
    /// suggesting `stamp`; [`ErrorKind::AmbiguousRevision`] listing every
    /// revision the prefix matches.
    pub fn resolve(&self, id: &str) -> Result<&Revision> {
        self.resolve_index(id).map(|i| &self.revs[i])
    }

    fn resolve_index(&self, id: &str) -> Result<usize> {
        if let Some(&i) = self.index.get(id) {
            return Ok(i);
        }
        let found: Vec<usize> = if id.is_empty() {
            Vec::new()
        } else {
            (0..self.revs.len())
                .filter(|&i| self.revs[i].id().starts_with(id))
                .collect()
        };
        match found[..] {
            [i] => Ok(i),
            [] => Err(Error::new(
                ErrorKind::UnknownRevision,
                format!(
                    "can't locate revision identified by '{id}'; the heads are: {}; \
                     if the database was migrated by scripts this app does not have, \
                     `db stamp <revision>` records the revision it matches without running migrations",
                    self.heads_list()
                ),
            )
            .with_revisions([id])),
            _ => {
                let ids: Vec<&str> = found.iter().map(|&i| self.revs[i].id()).collect();
                Err(Error::new(
                    ErrorKind::AmbiguousRevision,
                    format!(
                        "multiple revisions start with '{id}': {}; give more characters",
                        ids.join(", ")
                    ),
                )
                .with_revisions(ids))
            }
        }
    }

    /// Indexes of the revisions a version table lists.
    pub(crate) fn current_indices<S: AsRef<str>>(&self, current: &[S]) -> Result<Vec<usize>> {
        let mut out = Vec::new();
        for c in current {
            let c = c.as_ref();
            match self.index.get(c) {
                Some(&i) => out.push(i),
                None => {
                    return Err(Error::new(
                        ErrorKind::UnknownRevision,
                        format!(
                            "the database is at revision '{c}', which is not among this app's revisions \
                             (heads: {}); if the database matches one of them, \
                             `db stamp <revision>` records that without running migrations",
                            self.heads_list()
                        ),
                    )
                    .with_revisions([c]))
                }
            }
        }
        Ok(out)
    }

    fn single_head(&self, word: &str) -> Result<usize> {
        let heads = self.head_indices();
        match heads[..] {
            [h] => Ok(h),
            [] => Err(Error::new(
                ErrorKind::UnknownRevision,
                format!("there is no '{word}': there are no revisions"),
            )),
            _ => {
                let ids: Vec<&str> = heads.iter().map(|&i| self.revs[i].id()).collect();
                Err(Error::new(
                    ErrorKind::MultipleHeads,
                    format!(
                        "multiple head revisions are present for '{word}': {}; \
                         merge them into one with `db merge heads` (a revision whose down_revision \
                         lists every head), or give a specific target revision, or 'heads' for all heads",
                        ids.join(", ")
                    ),
                )
                .with_revisions(ids))
            }
        }
    }

    /// A target that is one place: a word, an id or a prefix (not relative).
    pub(crate) fn resolve_place(&self, target: &str) -> Result<Target> {
        match target {
            "base" => Ok(Target::Base),
            "head" => Ok(Target::Revs(vec![self.single_head(target)?])),
            "heads" => Ok(Target::Revs(self.head_indices())),
            _ => Ok(Target::Revs(vec![self.resolve_index(target)?])),
        }
    }

    /// Walk `n` steps up (towards the heads) from `start` (`None`: base).
    fn walk_up(&self, target: &str, start: Option<usize>, n: usize) -> Result<Target> {
        let mut at = start;
        for step in 0..n {
            let next: Vec<usize> = match at {
                Some(i) => self.children[i].clone(),
                None => (0..self.revs.len())
                    .filter(|&i| self.down[i].is_empty())
                    .collect(),
            };
            match next[..] {
                [one] => at = Some(one),
                [] => {
                    return Err(Error::new(
                        ErrorKind::RelativeOutOfRange,
                        format!(
                            "relative revision '{target}' didn't produce {n} migrations: \
                             only {step} lie above {}",
                            self.place_name(start)
                        ),
                    )
                    .with_revisions(at.map(|i| self.revs[i].id())))
                }
                _ => {
                    let ids: Vec<&str> = next.iter().map(|&i| self.revs[i].id()).collect();
                    return Err(Error::new(
                        ErrorKind::AmbiguousWalk,
                        format!(
                            "ambiguous walk for '{target}': {} is followed by {}; name the revision instead",
                            self.place_name(at),
                            ids.join(", ")
                        ),
                    )
                    .with_revisions(ids));
                }
            }
        }
        Ok(at.map_or(Target::Base, |i| Target::Revs(vec![i])))
    }

    /// Walk `n` steps down (towards base) from `start`.
    fn walk_down(&self, target: &str, start: usize, n: usize) -> Result<Target> {
        let mut at = Some(start);
        for step in 0..n {
            let Some(i) = at else {
                return Err(Error::new(
                    ErrorKind::RelativeOutOfRange,
                    format!(
                        "relative revision '{target}' didn't produce {n} migrations: \
                         only {step} lie below '{}' (that goes past base)",
                        self.revs[start].id()
                    ),
                )
                .with_revisions([self.revs[start].id()]));
            };
            match self.down[i][..] {
                [] => at = None,
                [one] => at = Some(one),
                _ => {
                    let ids: Vec<&str> = self.down[i].iter().map(|&d| self.revs[d].id()).collect();
                    return Err(Error::new(
                        ErrorKind::AmbiguousWalk,
                        format!(
                            "ambiguous walk for '{target}': '{}' is a merge of {}; name the revision instead",
                            self.revs[i].id(),
                            ids.join(", ")
                        ),
                    )
                    .with_revisions(ids));
                }
            }
        }
        Ok(at.map_or(Target::Base, |i| Target::Revs(vec![i])))
    }

    fn place_name(&self, at: Option<usize>) -> String {
        at.map_or("base".into(), |i| format!("'{}'", self.revs[i].id()))
    }

    /// The one current revision a relative target starts from.
    fn single_current(&self, target: &str, current: &[usize]) -> Result<Option<usize>> {
        match current {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => {
                let ids: Vec<&str> = current.iter().map(|&i| self.revs[i].id()).collect();
                Err(Error::new(
                    ErrorKind::AmbiguousWalk,
                    format!(
                        "ambiguous walk for '{target}': the database is at several heads ({}); name the revision instead",
                        ids.join(", ")
                    ),
                )
                .with_revisions(ids))
            }
        }
    }

    /// The indexes an upgrade from `current` to `target` runs, in order.
    pub(crate) fn upgrade_plan(&self, current: &[usize], target: &str) -> Result<Vec<usize>> {
        let targets = match parse_relative(target) {
            Some((_, n)) if n < 0 => {
                return Err(Error::new(
                    ErrorKind::InvalidTarget,
                    format!("'{target}' goes down; use downgrade"),
                ))
            }
            Some((None, n)) => {
                let start = self.single_current(target, current)?;
                self.walk_up(target, start, n as usize)?
            }
            Some((Some(from), n)) => match self.resolve_place(from)? {
                Target::Base => self.walk_up(target, None, n as usize)?,
                Target::Revs(r) if r.len() == 1 => self.walk_up(target, Some(r[0]), n as usize)?,
                Target::Revs(r) => {
                    return Err(self.several(target, &r));
                }
            },
            None => self.resolve_place(target)?,
        };
        let Target::Revs(targets) = targets else {
            return Ok(Vec::new());
        };
        let have = self.ancestors(current);
        let needs: BTreeSet<usize> = self
            .ancestors(&targets)
            .into_iter()
            .filter(|i| !have.contains(i))
            .collect();
        let mut order = self.topological(needs, &targets);
        order.reverse();
        Ok(order)
    }

    fn several(&self, target: &str, r: &[usize]) -> Error {
        let ids: Vec<&str> = r.iter().map(|&i| self.revs[i].id()).collect();
        Error::new(
            ErrorKind::AmbiguousWalk,
            format!(
                "ambiguous walk for '{target}': it starts from several revisions ({})",
                ids.join(", ")
            ),
        )
        .with_revisions(ids)
    }

    /// The indexes a downgrade from `current` to `target` runs, in order.
    pub(crate) fn downgrade_plan(&self, current: &[usize], target: &str) -> Result<Vec<usize>> {
        let dest = match parse_relative(target) {
            Some((_, n)) if n > 0 => {
                return Err(Error::new(
                    ErrorKind::InvalidTarget,
                    format!("'{target}' goes up; use upgrade"),
                ))
            }
            Some((None, n)) => match self.single_current(target, current)? {
                Some(start) => self.walk_down(target, start, n.unsigned_abs() as usize)?,
                None if n == 0 => Target::Base,
                None => {
                    return Err(Error::new(
                        ErrorKind::RelativeOutOfRange,
                        format!("relative revision '{target}': the database is already at base, nothing lies below"),
                    ))
                }
            },
            Some((Some(from), n)) => match self.resolve_place(from)? {
                Target::Base if n == 0 => Target::Base,
                Target::Base => {
                    return Err(Error::new(
                        ErrorKind::RelativeOutOfRange,
                        format!("relative revision '{target}' goes past base"),
                    ))
                }
                Target::Revs(r) if r.len() == 1 => {
                    self.walk_down(target, r[0], n.unsigned_abs() as usize)?
                }
                Target::Revs(r) => return Err(self.several(target, &r)),
            },
            None => self.resolve_place(target)?,
        };
        let active = self.ancestors(current);
        let set: BTreeSet<usize> = match &dest {
            Target::Base => active.into_iter().collect(),
            Target::Revs(ts) => {
                let below = self.descendants(ts);
                let set: BTreeSet<usize> = below
                    .into_iter()
                    .filter(|i| !ts.contains(i) && active.contains(i))
                    .collect();
                if set.is_empty() && ts.iter().any(|t| !active.contains(t)) {
                    let cur: Vec<&str> = current.iter().map(|&i| self.revs[i].id()).collect();
                    let ids: Vec<&str> = ts.iter().map(|&i| self.revs[i].id()).collect();
                    return Err(Error::new(
                        ErrorKind::InvalidTarget,
                        format!(
                            "'{}' is not a valid downgrade target from the current revision(s) {}: \
                             it is not below them (to move forward, use upgrade)",
                            ids.join(", "),
                            if cur.is_empty() { "(base)".into() } else { cur.join(", ") }
                        ),
                    )
                    .with_revisions(ids));
                }
                set
            }
        };
        Ok(self.topological(set, current))
    }

    /// Every revision `start` leads down to, `start` included.
    pub(crate) fn ancestors(&self, start: &[usize]) -> HashSet<usize> {
        self.closure(start, &self.down)
    }

    /// Every revision that leads down to `start`, `start` included.
    pub(crate) fn descendants(&self, start: &[usize]) -> HashSet<usize> {
        self.closure(start, &self.children)
    }

    fn closure(&self, start: &[usize], edges: &[Vec<usize>]) -> HashSet<usize> {
        let mut seen: HashSet<usize> = start.iter().copied().collect();
        let mut todo: Vec<usize> = start.to_vec();
        while let Some(v) = todo.pop() {
            for &w in &edges[v] {
                if seen.insert(w) {
                    todo.push(w);
                }
            }
        }
        seen
    }

    /// `todo` ordered from the top down (each revision before the ones it
    /// revises), starting from `heads`: Alembic's `_topological_sort`,
    /// which walks one branch as far as it can before the next, ties
    /// broken by the order the revisions were given in.
    fn topological(&self, mut todo: BTreeSet<usize>, heads: &[usize]) -> Vec<usize> {
        let mut current: Vec<usize> = heads.iter().copied().filter(|h| todo.contains(h)).collect();
        current.sort_unstable();
        current.dedup();
        let mut ancestors: Vec<HashSet<usize>> =
            current.iter().map(|&h| self.ancestors(&[h])).collect();
        let mut out = Vec::with_capacity(todo.len());
        let mut idx = 0;
        while !current.is_empty() {
            let candidate = current[idx];
            // Another branch still to walk needs this revision: walk it first.
            if let Some(j) = ancestors
                .iter()
                .enumerate()
                .position(|(j, a)| j != idx && a.contains(&candidate))
            {
                idx = j;
                continue;
            }
            if todo.remove(&candidate) {
                out.push(candidate);
            }
            let add: Vec<usize> = self.down[candidate]
                .iter()
                .copied()
                .filter(|d| todo.contains(d) && !current.contains(d))
                .collect();
            if add.is_empty() {
                current.remove(idx);
                ancestors.remove(idx);
                idx = idx.saturating_sub(1);
            } else if self.down[candidate].len() == 1 {
                current[idx] = add[0];
                ancestors[idx].remove(&candidate);
            } else {
                current[idx] = add[0];
                ancestors[idx] = self.ancestors(&add[..1]);
                for &a in &add[1..] {
                    current.push(a);
                    ancestors.push(self.ancestors(&[a]));
                }
            }
        }
        debug_assert!(todo.is_empty(), "every revision is reachable from a head");
        out
    }

    /// The revisions an upgrade from the `current` version rows to
    /// `target` runs, in the order it runs them.
    ///
    /// `target` is `head` (the only head), `heads`, `base`, a revision id
    /// or a unique prefix of one, `+N` (N steps up from the current
    /// revision), or `<rev>+N`.
    ///
    /// # Errors
    /// [`ErrorKind::MultipleHeads`] for `head` with several heads (the
    /// message says to `db merge`); [`ErrorKind::UnknownRevision`] and
    /// [`ErrorKind::AmbiguousRevision`] as [`resolve`](Revisions::resolve);
    /// [`ErrorKind::UnknownRevision`] for a current id not in the graph;
    /// [`ErrorKind::AmbiguousWalk`] and [`ErrorKind::RelativeOutOfRange`]
    /// for relative targets.
    pub fn upgrade_revisions(&self, current: &[&str], target: &str) -> Result<Vec<&Revision>> {
        let cur = self.current_indices(current)?;
        Ok(self
            .upgrade_plan(&cur, target)?
            .into_iter()
            .map(|i| &self.revs[i])
            .collect())
    }

    /// The revisions a downgrade from the `current` version rows to
    /// `target` runs, in the order it runs them (newest first).
    ///
    /// `target` is `base`, a revision id or prefix (it stays applied),
    /// `-N` (N steps down from the current revision), or `<rev>-N`.
    ///
    /// ```
    /// use aludel_migrate::{Revision, Revisions};
    /// const A: Revision = Revision::new("aaaaaaaaaaaa", &[], "a");
    /// const B: Revision = Revision::new("bbbbbbbbbbbb", &["aaaaaaaaaaaa"], "b");
    /// let revs = Revisions::new([A, B])?;
    /// let down = revs.downgrade_revisions(&["bbbbbbbbbbbb"], "base")?;
    /// let ids: Vec<&str> = down.iter().map(|r| r.id()).collect();
    /// assert_eq!(ids, ["bbbbbbbbbbbb", "aaaaaaaaaaaa"]);
    /// assert!(revs.downgrade_revisions(&["bbbbbbbbbbbb"], "-3").is_err()); // past base
    /// # Ok::<(), aludel_migrate::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`upgrade_revisions`](Revisions::upgrade_revisions), and
    /// [`ErrorKind::InvalidTarget`] for a revision that is not below the
    /// current ones.
    pub fn downgrade_revisions(&self, current: &[&str], target: &str) -> Result<Vec<&Revision>> {
        let cur = self.current_indices(current)?;
        Ok(self
            .downgrade_plan(&cur, target)?
            .into_iter()
            .map(|i| &self.revs[i])
            .collect())
    }
}

/// `+N`, `-N`, `<place>+N`, `<place>-N`: the place (if any) and N.
fn parse_relative(target: &str) -> Option<(Option<&str>, i64)> {
    let pos = target.rfind(['+', '-'])?;
    let digits = &target[pos + 1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    let n = if target.as_bytes()[pos] == b'-' {
        -n
    } else {
        n
    };
    let place = &target[..pos];
    Some(((!place.is_empty()).then_some(place), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Revision = Revision::new("aaaaaaaaaaaa", &[], "a");
    const B: Revision = Revision::new("bbbbbbbbbbbb", &["aaaaaaaaaaaa"], "b");
    const C1: Revision = Revision::new("c1c1c1c1c1c1", &["bbbbbbbbbbbb"], "c1");
    const C2: Revision = Revision::new("c2c2c2c2c2c2", &["bbbbbbbbbbbb"], "c2");
    const D1: Revision = Revision::new("d1d1d1d1d1d1", &["c1c1c1c1c1c1"], "d1");
    const M: Revision = Revision::new("eeeeeeeeeeee", &["d1d1d1d1d1d1", "c2c2c2c2c2c2"], "merge");

    fn ids(revs: &[&Revision]) -> Vec<&'static str> {
        revs.iter().map(|r| r.id()).collect()
    }

    fn branched() -> Revisions {
        Revisions::new([A, B, C1, C2, D1]).unwrap()
    }

    fn merged() -> Revisions {
        Revisions::new([A, B, C1, C2, D1, M]).unwrap()
    }

    #[test]
    fn broken_graphs_name_the_revisions() {
        let e = Revisions::new([A, B, A]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DuplicateRevision);
        assert_eq!(e.revisions(), ["aaaaaaaaaaaa"]);
        assert!(e.message().contains("'aaaaaaaaaaaa'"), "{e}");

        const X: Revision = Revision::new("xxxxxxxxxxxx", &["yyyyyyyyyyyy"], "x");
        const Y: Revision = Revision::new("yyyyyyyyyyyy", &["zzzzzzzzzzzz"], "y");
        const Z: Revision = Revision::new("zzzzzzzzzzzz", &["xxxxxxxxxxxx"], "z");
        let e = Revisions::new([A, X, Y, Z]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Cycle);
        let mut r = e.revisions().to_vec();
        r.sort();
        assert_eq!(r, ["xxxxxxxxxxxx", "yyyyyyyyyyyy", "zzzzzzzzzzzz"]);
        assert!(
            e.message()
                .contains("xxxxxxxxxxxx -> yyyyyyyyyyyy -> zzzzzzzzzzzz -> xxxxxxxxxxxx"),
            "{e}"
        );

        const SELF: Revision = Revision::new("ssssssssssss", &["ssssssssssss"], "self");
        assert_eq!(Revisions::new([SELF]).unwrap_err().kind(), ErrorKind::Cycle);

        const BAD: Revision = Revision::new("head", &[], "bad");
        assert_eq!(
            Revisions::new([BAD]).unwrap_err().kind(),
            ErrorKind::InvalidRevisionId
        );
        const LONG: Revision = Revision::new("012345678901234567890123456789012", &[], "long");
        assert_eq!(
            Revisions::new([LONG]).unwrap_err().kind(),
            ErrorKind::InvalidRevisionId
        );
    }

    #[test]
    fn heads_bases_branch_points() {
        let g = branched();
        assert_eq!(ids(&g.heads()), ["c2c2c2c2c2c2", "d1d1d1d1d1d1"]);
        assert_eq!(ids(&g.bases()), ["aaaaaaaaaaaa"]);
        assert_eq!(ids(&g.branch_points()), ["bbbbbbbbbbbb"]);
        let g = merged();
        assert_eq!(ids(&g.heads()), ["eeeeeeeeeeee"]);
        assert!(g.get("eeeeeeeeeeee").unwrap().is_merge());
    }

    #[test]
    fn prefixes() {
        let g = branched();
        assert_eq!(g.resolve("d1d").unwrap().id(), "d1d1d1d1d1d1");
        let e = g.resolve("c").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AmbiguousRevision);
        assert_eq!(e.revisions(), ["c1c1c1c1c1c1", "c2c2c2c2c2c2"]);
        assert!(e.message().contains("c1c1c1c1c1c1, c2c2c2c2c2c2"), "{e}");
        let e = g.resolve("f00").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownRevision);
        assert!(e.message().contains("'f00'"), "{e}");
        assert!(e.message().contains("c2c2c2c2c2c2, d1d1d1d1d1d1"), "{e}");
        assert!(e.message().contains("stamp"), "{e}");
    }

    #[test]
    fn upgrade_order_walks_one_branch_then_the_other() {
        let g = merged();
        let up = g.upgrade_revisions(&[], "head").unwrap();
        assert_eq!(
            ids(&up),
            [
                "aaaaaaaaaaaa",
                "bbbbbbbbbbbb",
                "c2c2c2c2c2c2",
                "c1c1c1c1c1c1",
                "d1d1d1d1d1d1",
                "eeeeeeeeeeee"
            ]
        );
        // every revision after the ones it revises
        for (i, r) in up.iter().enumerate() {
            for d in r.down_revisions() {
                assert!(up[..i].iter().any(|x| x.id() == *d));
            }
        }
        let up = g.upgrade_revisions(&["c1c1c1c1c1c1"], "heads").unwrap();
        assert_eq!(ids(&up), ["c2c2c2c2c2c2", "d1d1d1d1d1d1", "eeeeeeeeeeee"]);
        assert!(g
            .upgrade_revisions(&["eeeeeeeeeeee"], "head")
            .unwrap()
            .is_empty());
        // going "up" to an older revision does nothing, as in Alembic
        assert!(g
            .upgrade_revisions(&["eeeeeeeeeeee"], "bbbb")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn head_with_two_heads_says_merge() {
        let g = branched();
        let e = g.upgrade_revisions(&["bbbbbbbbbbbb"], "head").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MultipleHeads);
        assert_eq!(e.revisions(), ["c2c2c2c2c2c2", "d1d1d1d1d1d1"]);
        assert!(e.message().contains("db merge heads"), "{e}");
        let up = g.upgrade_revisions(&["bbbbbbbbbbbb"], "heads").unwrap();
        assert_eq!(ids(&up), ["c1c1c1c1c1c1", "d1d1d1d1d1d1", "c2c2c2c2c2c2"]);
    }

    #[test]
    fn relative_targets() {
        let g = merged();
        assert_eq!(
            ids(&g.upgrade_revisions(&[], "+2").unwrap()),
            ["aaaaaaaaaaaa", "bbbbbbbbbbbb"]
        );
        assert_eq!(
            ids(&g.upgrade_revisions(&["aaaaaaaaaaaa"], "+1").unwrap()),
            ["bbbbbbbbbbbb"]
        );
        let e = g.upgrade_revisions(&["bbbbbbbbbbbb"], "+1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AmbiguousWalk);
        assert_eq!(
            ids(&g.upgrade_revisions(&["bbbbbbbbbbbb"], "c1c1+1").unwrap()),
            ["c1c1c1c1c1c1", "d1d1d1d1d1d1"]
        );
        let e = g.upgrade_revisions(&["eeeeeeeeeeee"], "+1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RelativeOutOfRange);
        assert_eq!(
            g.upgrade_revisions(&[], "-1").unwrap_err().kind(),
            ErrorKind::InvalidTarget
        );

        assert_eq!(
            ids(&g.downgrade_revisions(&["bbbbbbbbbbbb"], "-1").unwrap()),
            ["bbbbbbbbbbbb"]
        );
        assert_eq!(
            ids(&g.downgrade_revisions(&["bbbbbbbbbbbb"], "-2").unwrap()),
            ["bbbbbbbbbbbb", "aaaaaaaaaaaa"]
        );
        let e = g.downgrade_revisions(&["bbbbbbbbbbbb"], "-3").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RelativeOutOfRange);
        assert!(e.message().contains("past base"), "{e}");
        let e = g.downgrade_revisions(&["eeeeeeeeeeee"], "-1").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AmbiguousWalk);
        assert_eq!(
            g.downgrade_revisions(&[], "-1").unwrap_err().kind(),
            ErrorKind::RelativeOutOfRange
        );
    }

    #[test]
    fn downgrade_orders_and_limits() {
        let g = merged();
        let down = g.downgrade_revisions(&["eeeeeeeeeeee"], "base").unwrap();
        assert_eq!(
            ids(&down),
            [
                "eeeeeeeeeeee",
                "d1d1d1d1d1d1",
                "c1c1c1c1c1c1",
                "c2c2c2c2c2c2",
                "bbbbbbbbbbbb",
                "aaaaaaaaaaaa"
            ]
        );
        // to the branch point: both branches and the merge come off
        let down = g.downgrade_revisions(&["eeeeeeeeeeee"], "bbbb").unwrap();
        assert_eq!(
            ids(&down),
            [
                "eeeeeeeeeeee",
                "d1d1d1d1d1d1",
                "c1c1c1c1c1c1",
                "c2c2c2c2c2c2"
            ]
        );
        // one branch only: the other stays
        let g = branched();
        let down = g
            .downgrade_revisions(&["c2c2c2c2c2c2", "d1d1d1d1d1d1"], "c1c1")
            .unwrap();
        assert_eq!(ids(&down), ["d1d1d1d1d1d1"]);
        let e = g
            .downgrade_revisions(&["c2c2c2c2c2c2"], "d1d1")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidTarget);
        assert!(e.message().contains("not below"), "{e}");
        let e = g
            .downgrade_revisions(&["zzzzzzzzzzzz"], "base")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownRevision);
        assert!(
            e.message().contains("'zzzzzzzzzzzz'") && e.message().contains("stamp"),
            "{e}"
        );
    }

    #[test]
    fn relative_parsing() {
        assert_eq!(parse_relative("+2"), Some((None, 2)));
        assert_eq!(parse_relative("-1"), Some((None, -1)));
        assert_eq!(parse_relative("ae10+3"), Some((Some("ae10"), 3)));
        assert_eq!(parse_relative("ae10"), None);
        assert_eq!(parse_relative("a+b"), None);
    }
}
