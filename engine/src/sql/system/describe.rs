//! The system relations psql's `\d <relation>` reads besides the core
//! ones of [`super::relations`]: collations, and the catalogs of features
//! RustyDB does not have — inheritance and partitions, row-level security
//! policies, extended statistics, logical-replication publications — which
//! are empty but have PostgreSQL's columns so that psql's queries over them
//! bind and answer "none". `pg_trigger` is empty too: triggers belong to
//! the layer above the engine (`rustydb-triggers`), which the engine's
//! catalog does not see.

use crate::catalog::Catalog;
use crate::types::{DataType as T, Value};

use super::super::error::SqlResult;
use super::{PG_CATALOG_OID, Relation, oid, text};

/// The names this module answers to, for `pg_class`.
pub(super) const NAMES: [&str; 9] = [
    "pg_collation",
    "pg_inherits",
    "pg_policy",
    "pg_publication",
    "pg_publication_namespace",
    "pg_publication_rel",
    "pg_statistic_ext",
    "pg_trigger",
    "pg_sequence",
];

/// PostgreSQL's oid of the database's default collation.
const DEFAULT_COLLATION_OID: i64 = 100;

/// `pg_catalog.<name>` for the names of [`NAMES`].
pub(super) fn pg_catalog(catalog: &Catalog, name: &str) -> SqlResult<Option<Relation>> {
    Ok(Some(match name {
        "pg_collation" => {
            let mut r = Relation::new(&[
                ("oid", T::Int8),
                ("collname", T::Text),
                ("collnamespace", T::Int8),
                ("collprovider", T::Text),
                ("collisdeterministic", T::Bool),
                ("collencoding", T::Int4),
                ("collcollate", T::Text),
                ("collctype", T::Text),
            ]);
            // Text compares bytewise (the "C" collation) whatever the name.
            for (o, n, provider) in [
                (DEFAULT_COLLATION_OID, "default", "d"),
                (950, "C", "c"),
                (951, "POSIX", "c"),
            ] {
                r.push(vec![
                    oid(o),
                    text(n),
                    oid(PG_CATALOG_OID),
                    text(provider),
                    Value::Bool(true),
                    Value::Int4(-1),
                    text("C"),
                    text("C"),
                ])?;
            }
            r
        }
        "pg_inherits" => Relation::new(&[
            ("inhrelid", T::Int8),
            ("inhparent", T::Int8),
            ("inhseqno", T::Int4),
            ("inhdetachpending", T::Bool),
        ]),
        "pg_policy" => Relation::new(&[
            ("oid", T::Int8),
            ("polname", T::Text),
            ("polrelid", T::Int8),
            ("polcmd", T::Text),
            ("polpermissive", T::Bool),
            ("polroles", T::Text),
            ("polqual", T::Text),
            ("polwithcheck", T::Text),
        ]),
        "pg_publication" => Relation::new(&[
            ("oid", T::Int8),
            ("pubname", T::Text),
            ("pubowner", T::Int8),
            ("puballtables", T::Bool),
            ("pubinsert", T::Bool),
            ("pubupdate", T::Bool),
            ("pubdelete", T::Bool),
            ("pubtruncate", T::Bool),
            ("pubviaroot", T::Bool),
        ]),
        "pg_publication_namespace" => {
            Relation::new(&[("oid", T::Int8), ("pnpubid", T::Int8), ("pnnspid", T::Int8)])
        }
        "pg_publication_rel" => Relation::new(&[
            ("oid", T::Int8),
            ("prpubid", T::Int8),
            ("prrelid", T::Int8),
            ("prqual", T::Text),
            ("prattrs", T::Text),
        ]),
        "pg_statistic_ext" => Relation::new(&[
            ("oid", T::Int8),
            ("stxrelid", T::Int8),
            ("stxname", T::Text),
            ("stxnamespace", T::Int8),
            ("stxowner", T::Int8),
            ("stxstattarget", T::Int4),
            ("stxkeys", T::Text),
            ("stxkind", T::Text),
        ]),
        "pg_trigger" => Relation::new(&[
            ("oid", T::Int8),
            ("tgrelid", T::Int8),
            ("tgparentid", T::Int8),
            ("tgname", T::Text),
            ("tgfoid", T::Int8),
            ("tgtype", T::Int2),
            ("tgenabled", T::Text),
            ("tgisinternal", T::Bool),
            ("tgconstraint", T::Int8),
        ]),
        "pg_sequence" => {
            let mut r = Relation::new(&[
                ("seqrelid", T::Int8),
                ("seqtypid", T::Int8),
                ("seqstart", T::Int8),
                ("seqincrement", T::Int8),
                ("seqmax", T::Int8),
                ("seqmin", T::Int8),
                ("seqcache", T::Int8),
                ("seqcycle", T::Bool),
            ]);
            for s in catalog.sequences() {
                r.push(vec![
                    oid(s.id),
                    oid(T::Int8.oid()),
                    Value::Int8(s.start),
                    Value::Int8(s.increment),
                    Value::Int8(s.max),
                    Value::Int8(s.min),
                    Value::Int8(1),
                    Value::Bool(s.cycle),
                ])?;
            }
            r
        }
        _ => return Ok(None),
    }))
}

thread_local! {
    /// Set while a view's query is bound for its column types, so that a
    /// view over `pg_attribute` does not describe views again, forever.
    static DESCRIBING_VIEWS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Each view's oid with its columns' names and types, found by binding the
/// view's query as a `SELECT` from it would. A view that no longer binds
/// (a table it reads was dropped) has no columns here rather than failing
/// every query over `pg_attribute`.
pub(super) fn view_columns(catalog: &Catalog) -> Vec<(i64, Vec<(String, T)>)> {
    if DESCRIBING_VIEWS.with(std::cell::Cell::get) {
        return Vec::new();
    }
    DESCRIBING_VIEWS.with(|d| d.set(true));
    let out = catalog
        .views()
        .filter_map(|v| {
            let sql = format!("SELECT * FROM \"{}\"", v.name.replace('"', "\"\""));
            let statements = crate::sql::parser::parse_sql(&sql).ok()?;
            let Some(crate::sql::parser::Statement::Standard(stmt)) = statements.first() else {
                return None;
            };
            let sqlparser::ast::Statement::Query(q) = stmt.as_ref() else {
                return None;
            };
            let mut binder = crate::sql::binder::Binder::new(catalog, &[]);
            let plan = crate::sql::binder::bind_query(&mut binder, q).ok()?;
            let columns = plan
                .columns()
                .iter()
                .map(|c| (c.name.clone(), c.ty))
                .collect();
            Some((i64::from(v.id), columns))
        })
        .collect();
    DESCRIBING_VIEWS.with(|d| d.set(false));
    out
}
