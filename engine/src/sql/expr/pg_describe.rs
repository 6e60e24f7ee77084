//! The catalog functions behind psql's `\d <relation>`: object-id types
//! (`regclass`, `regtype`, `regnamespace`, `regrole`), definitions rebuilt
//! from the catalog (`pg_get_indexdef`, `pg_get_constraintdef`), the
//! partition and publication questions psql asks of every table, and the
//! few array operations its queries apply to catalog array columns.
//!
//! Arrays are not a type yet: catalog array columns (`conkey`, `polroles`,
//! `stxkind`, …) hold PostgreSQL's text form of an array (`{1,2}`), and
//! the operations here read that form. Elements compare as text, which is
//! exact for the integers and names these columns hold.

use crate::catalog::{Catalog, RefAction, TableDef};
use crate::sql::error::{SqlError, SqlResult};
use crate::sql::system::{
    INFORMATION_SCHEMA_OID, PG_CATALOG_OID, PK_OID_BASE, PUBLIC_OID, TYPES, format_type,
};
use crate::types::{DataType, Value};

use super::functions::Func;
use super::pg_functions::PgFunc;

/// A kind of object-id type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegKind {
    /// `regclass`: a relation.
    Class,
    /// `regtype`: a type.
    Type,
    /// `regnamespace`: a schema.
    Namespace,
    /// `regrole`: a role.
    Role,
}

impl RegKind {
    /// The kind a type name (`regclass`, `pg_catalog.regtype`) names.
    pub fn from_type_name(name: &str) -> Option<RegKind> {
        let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
        Some(match name {
            "regclass" => RegKind::Class,
            "regtype" => RegKind::Type,
            "regnamespace" => RegKind::Namespace,
            "regrole" => RegKind::Role,
            _ => return None,
        })
    }
}

/// A function of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescribeFunc {
    /// `oid::regclass` and the other object-id types as text: the object's
    /// name, or the number when no object has that id (as PostgreSQL).
    RegName(RegKind),
    /// `pg_get_indexdef(index [, column, pretty])`
    IndexDef,
    /// `pg_get_constraintdef(constraint [, pretty])`
    ConstraintDef,
    /// `pg_partition_ancestors(relation)`: a relation that is not a
    /// partition (none is) is its own only ancestor.
    PartitionAncestors,
    /// `pg_relation_is_publishable(relation)`: ordinary tables are.
    RelationIsPublishable,
    /// `pg_get_statisticsobjdef_columns`, `pg_get_triggerdef`,
    /// `pg_get_viewdef` of an oid that names no such object: NULL, as
    /// PostgreSQL answers for a missing object. Extended statistics and
    /// engine-level triggers do not exist, so every oid is missing.
    NoSuchObject,
    /// `array_upper(array, dimension)`
    ArrayUpper,
    /// `x = ANY (array)` (`all`: `x <> ALL (array)` when `equal` is false).
    ArrayQuantified {
        /// `=` or `<>`.
        equal: bool,
        /// ALL instead of ANY.
        all: bool,
    },
    /// `array[i]` (one-based).
    ArraySubscript,
}

/// Resolves the names of this module (arity included).
pub(crate) fn resolve(
    name: &str,
    args: &[DataType],
) -> Option<(Func, DataType, Vec<Option<DataType>>)> {
    use DataType as T;
    let f = |d: DescribeFunc, ty: DataType, casts: Vec<Option<DataType>>| {
        Some((Func::Pg(PgFunc::Describe(d)), ty, casts))
    };
    match (name, args.len()) {
        ("pg_get_indexdef", 1 | 3) => f(DescribeFunc::IndexDef, T::Text, {
            let mut casts = vec![Some(T::Int8), Some(T::Int8), Some(T::Bool)];
            casts.truncate(args.len());
            casts
        }),
        ("pg_get_constraintdef", 1 | 2) => f(DescribeFunc::ConstraintDef, T::Text, {
            let mut casts = vec![Some(T::Int8), Some(T::Bool)];
            casts.truncate(args.len());
            casts
        }),
        ("pg_partition_ancestors", 1) => f(
            DescribeFunc::PartitionAncestors,
            T::Int8,
            vec![Some(T::Int8)],
        ),
        ("pg_relation_is_publishable", 1) => f(
            DescribeFunc::RelationIsPublishable,
            T::Bool,
            vec![Some(T::Int8)],
        ),
        ("pg_get_statisticsobjdef_columns", 1) | ("pg_get_triggerdef", 1 | 2) => {
            f(DescribeFunc::NoSuchObject, T::Text, vec![None; args.len()])
        }
        ("array_upper" | "array_length", 2) => f(
            DescribeFunc::ArrayUpper,
            T::Int4,
            vec![Some(T::Text), Some(T::Int4)],
        ),
        _ => None,
    }
}

/// Computes a function of this module; arguments are not NULL.
pub(crate) fn call(f: DescribeFunc, args: &[Value], catalog: &Catalog) -> SqlResult<Value> {
    let int = |i: usize| match args.get(i) {
        Some(Value::Int8(n)) => *n,
        Some(Value::Int4(n)) => i64::from(*n),
        Some(Value::Int2(n)) => i64::from(*n),
        _ => 0,
    };
    let string = |i: usize| match args.get(i) {
        Some(Value::Text(s)) => s.as_str(),
        _ => "",
    };
    let opt_text = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    Ok(match f {
        DescribeFunc::RegName(kind) => {
            let id = int(0);
            Value::Text(reg_name(catalog, kind, id).unwrap_or_else(|| id.to_string()))
        }
        DescribeFunc::IndexDef => opt_text(index_def(catalog, int(0), int(1))),
        DescribeFunc::ConstraintDef => opt_text(constraint_def(catalog, int(0))),
        DescribeFunc::PartitionAncestors => Value::Int8(int(0)),
        DescribeFunc::RelationIsPublishable => Value::Bool(
            u32::try_from(int(0))
                .ok()
                .and_then(|id| catalog.table_by_id(id))
                .is_some(),
        ),
        DescribeFunc::NoSuchObject => Value::Null,
        DescribeFunc::ArrayUpper => {
            let n = parse_array(string(0))?.len();
            if int(1) != 1 || n == 0 {
                Value::Null
            } else {
                Value::Int4(i32::try_from(n).unwrap_or(i32::MAX))
            }
        }
        DescribeFunc::ArraySubscript => {
            let items = parse_array(string(0))?;
            usize::try_from(int(1))
                .ok()
                .and_then(|i| i.checked_sub(1))
                .and_then(|i| items.into_iter().nth(i))
                .flatten()
                .map_or(Value::Null, Value::Text)
        }
        DescribeFunc::ArrayQuantified { equal, all } => {
            quantified(string(0), &parse_array(string(1))?, equal, all)
        }
    })
}

/// Three-valued `x op ANY/ALL (items)` for `=` and `<>`.
fn quantified(x: &str, items: &[Option<String>], equal: bool, all: bool) -> Value {
    let mut saw_null = false;
    for item in items {
        match item {
            None => saw_null = true,
            Some(s) => {
                let holds = (s == x) == equal;
                // ANY is decided by the first match, ALL by the first miss.
                if holds != all {
                    return Value::Bool(!all);
                }
            }
        }
    }
    if saw_null {
        Value::Null
    } else {
        Value::Bool(all)
    }
}

/// The elements of an array's text form (`{a,"b c",NULL}`); NULL
/// elements are `None`.
pub(crate) fn parse_array(text: &str) -> SqlResult<Vec<Option<String>>> {
    let malformed = || SqlError::Data {
        state: crate::SqlState::INVALID_TEXT_REPRESENTATION,
        message: format!("malformed array literal: \"{text}\""),
    };
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(malformed)?;
    let mut items = Vec::new();
    if inner.trim().is_empty() {
        return Ok(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut item = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => item.push(chars.next().ok_or_else(malformed)?),
                    Some(c) => item.push(c),
                    None => return Err(malformed()),
                }
            }
        }
        while let Some(&c) = chars.peek() {
            if c == ',' {
                break;
            }
            chars.next();
            if quoted {
                if !c.is_whitespace() {
                    return Err(malformed());
                }
            } else if c == '\\' {
                item.push(chars.next().ok_or_else(malformed)?);
            } else if c == '{' || c == '}' || c == '"' {
                // Nested arrays are not a shape any catalog column has.
                return Err(malformed());
            } else {
                item.push(c);
            }
        }
        let item = if quoted {
            Some(item)
        } else {
            let trimmed = item.trim_end().to_owned();
            if trimmed.is_empty() {
                // `{a,,b}`: PostgreSQL has no empty unquoted element.
                return Err(malformed());
            }
            (!trimmed.eq_ignore_ascii_case("null")).then_some(trimmed)
        };
        items.push(item);
        match chars.next() {
            Some(',') => continue,
            None => break,
            Some(_) => return Err(malformed()),
        }
    }
    Ok(items)
}

/// The object id a name of an object-id type reads as (`'t'::regclass`,
/// `'16384'::regclass`), resolved when the statement is bound.
pub(crate) fn reg_oid(catalog: &Catalog, kind: RegKind, name: &str) -> SqlResult<i64> {
    if let Ok(n) = name.trim().parse::<i64>() {
        return Ok(n);
    }
    let unquoted = |s: &str| {
        s.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .map_or_else(|| s.to_lowercase(), str::to_owned)
    };
    // A schema prefix is accepted; every object lives in one of the three.
    let bare = name.rsplit('.').next().unwrap_or(name).trim();
    let bare = unquoted(bare);
    let found = match kind {
        RegKind::Class => relation_oid(catalog, &bare),
        RegKind::Type => TYPES
            .iter()
            .find(|t| crate::sql::system::type_name(**t) == bare || t.to_string() == bare)
            .map(|t| i64::from(t.oid())),
        RegKind::Namespace => match bare.as_str() {
            "pg_catalog" => Some(PG_CATALOG_OID),
            "public" => Some(PUBLIC_OID),
            "information_schema" => Some(INFORMATION_SCHEMA_OID),
            _ => None,
        },
        RegKind::Role => catalog
            .roles()
            .into_iter()
            .find(|r| r.name == bare)
            .map(|r| i64::from(r.oid)),
    };
    let undefined = |state, what: &str| SqlError::Semantic {
        state,
        message: format!("{what} \"{name}\" does not exist"),
    };
    found.ok_or_else(|| match kind {
        RegKind::Class => SqlError::UndefinedTable(name.to_owned()),
        RegKind::Type => undefined(crate::SqlState::UNDEFINED_OBJECT, "type"),
        RegKind::Namespace => undefined(crate::SqlState::UNDEFINED_OBJECT, "schema"),
        RegKind::Role => undefined(crate::SqlState::UNDEFINED_OBJECT, "role"),
    })
}

fn relation_oid(catalog: &Catalog, name: &str) -> Option<i64> {
    if let Some(t) = catalog.table(name) {
        return Some(i64::from(t.id));
    }
    if let Some(v) = catalog.view(name) {
        return Some(i64::from(v.id));
    }
    if let Some(s) = catalog.sequence(name) {
        return Some(i64::from(s.id));
    }
    catalog.tables().find_map(|t| {
        if t.primary_key.as_ref().is_some_and(|pk| pk.name == name) {
            return Some(PK_OID_BASE + i64::from(t.id));
        }
        t.indexes
            .iter()
            .find(|i| i.name == name)
            .map(|i| i64::from(i.id))
    })
}

fn reg_name(catalog: &Catalog, kind: RegKind, id: i64) -> Option<String> {
    match kind {
        RegKind::Class => relation_name(catalog, id),
        RegKind::Type => TYPES
            .iter()
            .find(|t| i64::from(t.oid()) == id)
            .and_then(|_| format_type(id, -1)),
        RegKind::Namespace => match id {
            PG_CATALOG_OID => Some("pg_catalog".into()),
            PUBLIC_OID => Some("public".into()),
            INFORMATION_SCHEMA_OID => Some("information_schema".into()),
            _ => None,
        },
        RegKind::Role => catalog
            .roles()
            .into_iter()
            .find(|r| i64::from(r.oid) == id)
            .map(|r| r.name.clone()),
    }
}

/// The name of the relation (table, index, view, sequence) with this oid.
fn relation_name(catalog: &Catalog, id: i64) -> Option<String> {
    if let Some((_, index)) = index_by_oid(catalog, id) {
        return Some(index.name);
    }
    let id = u32::try_from(id).ok()?;
    if let Some(t) = catalog.table_by_id(id) {
        return Some(t.name.clone());
    }
    if let Some(v) = catalog.views().find(|v| v.id == id) {
        return Some(v.name.clone());
    }
    catalog
        .sequences()
        .find(|s| s.id == id)
        .map(|s| s.name.clone())
}

/// An index as the definitions need it.
struct Index {
    name: String,
    columns: Vec<usize>,
    /// Its key parts as `CREATE INDEX` lists them: column names, or
    /// expressions.
    keys: Vec<String>,
    unique: bool,
}

/// The index with this oid and its table: a secondary index keeps its
/// catalog id, a primary key's index is `PK_OID_BASE + table id`.
fn index_by_oid(catalog: &Catalog, id: i64) -> Option<(&TableDef, Index)> {
    if id >= PK_OID_BASE {
        let t = catalog.table_by_id(u32::try_from(id - PK_OID_BASE).ok()?)?;
        let pk = t.primary_key.as_ref()?;
        return Some((
            t,
            Index {
                name: pk.name.clone(),
                keys: column_names(t, &pk.columns),
                columns: pk.columns.clone(),
                unique: true,
            },
        ));
    }
    let id = u32::try_from(id).ok()?;
    catalog.tables().find_map(|t| {
        t.indexes.iter().find(|i| i.id == id).map(|i| {
            (
                t.as_ref(),
                Index {
                    name: i.name.clone(),
                    keys: if i.on_expressions() {
                        i.expressions.iter().map(|x| x.sql.clone()).collect()
                    } else {
                        column_names(t, &i.columns)
                    },
                    columns: i.columns.clone(),
                    unique: i.unique,
                },
            )
        })
    })
}

fn column_names(t: &TableDef, columns: &[usize]) -> Vec<String> {
    columns
        .iter()
        .map(|&c| t.columns.get(c).map_or("?", |c| c.name.as_str()).to_owned())
        .collect()
}

fn column_list(t: &TableDef, columns: &[usize]) -> String {
    column_names(t, columns).join(", ")
}

/// `pg_get_indexdef`: the whole `CREATE INDEX` for column 0, else the
/// named key column.
fn index_def(catalog: &Catalog, id: i64, column: i64) -> Option<String> {
    let (t, index) = index_by_oid(catalog, id)?;
    if column > 0 {
        let c = usize::try_from(column - 1).ok()?;
        return index.keys.get(c).cloned();
    }
    Some(format!(
        "CREATE {}INDEX {} ON public.{} USING btree ({})",
        if index.unique { "UNIQUE " } else { "" },
        index.name,
        t.name,
        index.keys.join(", ")
    ))
}

/// The constraint oids of `system::relations::pg_constraint`: unique and
/// primary keys share their index's oid; a CHECK is
/// `table << 20 | n`, a FOREIGN KEY `table << 20 | 1 << 19 | n`.
fn constraint_def(catalog: &Catalog, id: i64) -> Option<String> {
    if let Some((t, index)) = index_by_oid(catalog, id) {
        let kind = if id >= PK_OID_BASE {
            "PRIMARY KEY"
        } else {
            "UNIQUE"
        };
        return Some(format!("{kind} ({})", column_list(t, &index.columns)));
    }
    let t = catalog.table_by_id(u32::try_from(id >> 20).ok()?)?;
    let n = usize::try_from(id & ((1 << 19) - 1)).ok()?;
    if id & (1 << 19) == 0 {
        return t.checks.get(n).map(|c| format!("CHECK ({})", c.expr));
    }
    let fk = t.foreign_keys.get(n)?;
    let target = catalog.table_by_id(fk.ref_table)?;
    let action = match fk.on_delete {
        RefAction::Restrict => "",
        RefAction::Cascade => " ON DELETE CASCADE",
        RefAction::SetNull => " ON DELETE SET NULL",
    };
    Some(format!(
        "FOREIGN KEY ({}) REFERENCES {}({}){action}",
        column_list(t, &fk.columns),
        target.name,
        column_list(target, &fk.ref_columns)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(items: &[&str]) -> Vec<Option<String>> {
        items.iter().map(|s| Some((*s).to_owned())).collect()
    }

    #[test]
    fn array_text_form_reads_quotes_escapes_and_nulls() {
        assert_eq!(parse_array("{}").unwrap(), Vec::<Option<String>>::new());
        assert_eq!(parse_array("{1,2,3}").unwrap(), some(&["1", "2", "3"]));
        assert_eq!(
            parse_array(r#"{"a b","c\"d",NULL,"NULL"}"#).unwrap(),
            vec![
                Some("a b".into()),
                Some("c\"d".into()),
                None,
                Some("NULL".into())
            ]
        );
        assert!(parse_array("1,2").is_err());
        assert!(parse_array("{\"open}").is_err());
        assert!(parse_array("{{1},{2}}").is_err());
    }

    #[test]
    fn any_and_all_are_three_valued() {
        let items = some(&["d", "f"]);
        assert_eq!(quantified("d", &items, true, false), Value::Bool(true));
        assert_eq!(quantified("m", &items, true, false), Value::Bool(false));
        assert_eq!(quantified("m", &items, false, true), Value::Bool(true));
        assert_eq!(quantified("d", &items, false, true), Value::Bool(false));
        let with_null = vec![Some("d".into()), None];
        assert_eq!(quantified("m", &with_null, true, false), Value::Null);
        assert_eq!(quantified("d", &with_null, true, false), Value::Bool(true));
    }
}
