//! What the catalog records about tables, their columns, constraints and
//! indexes, and about sequences and views.

use crate::types::DataType;

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    /// The table's object id, the middle of all its row keys.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// The columns, in order.
    pub columns: Vec<ColumnDef>,
    /// The primary key, or `None` when rows are keyed by a hidden row id.
    pub primary_key: Option<KeyConstraint>,
    /// Secondary indexes, including those behind UNIQUE constraints.
    pub indexes: Vec<IndexDef>,
    /// CHECK constraints.
    pub checks: Vec<CheckDef>,
    /// FOREIGN KEY constraints of this table.
    pub foreign_keys: Vec<ForeignKeyDef>,
}

/// A column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: DataType,
    /// `NOT NULL` (also implied by the primary key).
    pub not_null: bool,
    /// The DEFAULT expression as SQL text, bound when a row needs it.
    pub default: Option<String>,
}

/// A PRIMARY KEY.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyConstraint {
    /// The constraint's name (`t_pkey`).
    pub name: String,
    /// Column positions, in key order.
    pub columns: Vec<usize>,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDef {
    /// The index's object id, the middle of its entries' keys.
    pub id: u32,
    /// Its name, which is also the name of the UNIQUE constraint it backs.
    pub name: String,
    /// Column positions, in key order; for an index on expressions, the
    /// columns the expressions read (so dropping one drops the index and
    /// changing its type is refused), not the key.
    pub columns: Vec<usize>,
    /// The key of an index on expressions (`CREATE INDEX … (lower(name))`),
    /// one per key part; empty when the key is `columns`.
    pub expressions: Vec<IndexExpr>,
    /// Whether two live rows may not share a non-NULL key.
    pub unique: bool,
    /// Whether it exists for a UNIQUE constraint (as opposed to CREATE INDEX).
    pub constraint: bool,
}

impl IndexDef {
    /// Whether the key is made of expressions rather than of `columns`.
    pub fn on_expressions(&self) -> bool {
        !self.expressions.is_empty()
    }
}

/// One key part of an index on expressions.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexExpr {
    /// The expression as SQL text over the table's columns, bound again
    /// whenever entries are computed.
    pub sql: String,
    /// The type of its values, which the keys are encoded in.
    pub ty: DataType,
    /// The bound expression's identity, which the planner compares with a
    /// query's bound expressions to see that the index computes the same
    /// value.
    pub fingerprint: String,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDef {
    /// The constraint's name (`t_a_check`).
    pub name: String,
    /// The condition as SQL text.
    pub expr: String,
}

/// What a foreign key does when the referenced row goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefAction {
    /// NO ACTION (the default) and RESTRICT: fail.
    Restrict,
    /// CASCADE: delete the referencing rows.
    Cascade,
    /// SET NULL: null the referencing columns.
    SetNull,
}

/// A FOREIGN KEY constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeyDef {
    /// The constraint's name (`t_a_fkey`).
    pub name: String,
    /// The referencing columns of this table.
    pub columns: Vec<usize>,
    /// The referenced table's id.
    pub ref_table: u32,
    /// The referenced columns (its primary key or a unique key).
    pub ref_columns: Vec<usize>,
    /// ON DELETE
    pub on_delete: RefAction,
}

/// A sequence, for `serial` columns and `nextval`.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceDef {
    /// Its object id.
    pub id: u32,
    /// Its name (`t_id_seq`).
    pub name: String,
    /// The table owning it through a serial column, if any.
    pub owned_by: Option<u32>,
    /// The first value.
    pub start: i64,
    /// The step (negative for a descending sequence).
    pub increment: i64,
    /// The smallest value.
    pub min: i64,
    /// The largest value.
    pub max: i64,
    /// Whether it wraps around past its limit instead of failing.
    pub cycle: bool,
}

/// A view: a stored query.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewDef {
    /// Its object id.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// The SELECT as SQL text.
    pub query: String,
    /// Column names given in `CREATE VIEW v (a, b)`, if any.
    pub columns: Vec<String>,
}

impl TableDef {
    /// The position of the column named `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The column types, in order.
    pub fn types(&self) -> Vec<DataType> {
        self.columns.iter().map(|c| c.ty).collect()
    }
}
