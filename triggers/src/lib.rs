//! RustyDB's triggers: catalog, DDL and firing semantics following
//! PostgreSQL, plugged into the engine's row and statement hooks (issue 7).
//! It contains nothing yet: the hooks it implements arrive with the SQL layer.
