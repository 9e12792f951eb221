//! A query assembled from parts, with `$1, $2, …` placeholders for both engines.
//!
//! sqlx's own `QueryBuilder` writes its placeholders through the database's arguments type, and
//! the `Any` driver's (which the store speaks, so that one query text serves SQLite and
//! PostgreSQL) writes `?`, which PostgreSQL refuses. The store writes every query with numbered
//! placeholders, which SQLite reads as well; this builder numbers the ones it pushes. It has the
//! part of `QueryBuilder`'s API the store uses, with the same names.

use std::fmt::{Display, Write};

use sqlx::{
    Any, Arguments, Encode, FromRow, Type,
    any::{AnyArguments, AnyRow},
    query::{Query, QueryAs},
};

pub struct QueryBuilder<'a> {
    sql: String,
    args: AnyArguments<'a>,
    bound: usize,
}

impl<'a> QueryBuilder<'a> {
    pub fn new(init: impl Into<String>) -> Self {
        QueryBuilder {
            sql: init.into(),
            args: AnyArguments::default(),
            bound: 0,
        }
    }

    /// Appends SQL text as it is (never a value: values go through [`Self::push_bind`]).
    pub fn push(&mut self, sql: impl Display) -> &mut Self {
        write!(self.sql, "{sql}").expect("writing to a String");
        self
    }

    /// Appends the next placeholder and binds `value` to it.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        self.bound += 1;
        write!(self.sql, "${}", self.bound).expect("writing to a String");
        // As in sqlx's builder: the Any driver's values (integers, text) always encode.
        self.args
            .add(value)
            .expect("a value the Any driver encodes");
        self
    }

    /// Parts separated by `sep` (a list of values, the columns of a row).
    pub fn separated<'b>(&'b mut self, sep: &'static str) -> Separated<'b, 'a> {
        Separated {
            builder: self,
            sep,
            first: true,
        }
    }

    /// `VALUES (…), (…)`: one parenthesised row per item, its columns pushed by `row`.
    pub fn push_values<I>(&mut self, items: I, mut row: impl FnMut(Separated<'_, 'a>, I::Item))
    where
        I: IntoIterator,
    {
        self.push("VALUES ");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
    }

    pub fn build(&mut self) -> Query<'_, Any, AnyArguments<'_>> {
        sqlx::query_with(&self.sql, std::mem::take(&mut self.args))
    }

    pub fn build_query_as<T>(&mut self) -> QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        sqlx::query_as_with(&self.sql, std::mem::take(&mut self.args))
    }

    /// The text so far (for tests of the builder).
    #[cfg(test)]
    pub fn sql(&self) -> &str {
        &self.sql
    }
}

/// Pushes separated by a fixed text: see [`QueryBuilder::separated`].
pub struct Separated<'b, 'a> {
    builder: &'b mut QueryBuilder<'a>,
    sep: &'static str,
    first: bool,
}

impl<'a> Separated<'_, 'a> {
    fn next(&mut self) {
        if !self.first {
            self.builder.push(self.sep);
        }
        self.first = false;
    }

    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: 'a + Encode<'a, Any> + Type<Any>,
    {
        self.next();
        self.builder.push_bind(value);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_across_pushes_lists_and_rows() {
        let mut q = QueryBuilder::new("SELECT 1 WHERE a = ");
        q.push_bind(1_i64).push(" AND b IN (");
        let mut sep = q.separated(", ");
        sep.push_bind("x").push_bind("y");
        q.push(") ");
        q.push_values([(1_i64, "p"), (2, "q")], |mut row, (n, s)| {
            row.push_bind(n).push_bind(s);
        });
        assert_eq!(
            q.sql(),
            "SELECT 1 WHERE a = $1 AND b IN ($2, $3) VALUES ($4, $5), ($6, $7)"
        );
    }
}
