//! `db tables` as data and as text. The view model is the documented `DbTables` shape
//! (docs/output.md); the table is one name per row.

use serde::Serialize;

use super::kubectl_table;

/// What `triage db tables` found, as printed by `-o json|yaml`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DbTables {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The namespace asked about (`-n`), if any.
    pub namespace: Option<String>,
    /// The server, as a URL with the password replaced by `***`.
    pub server: String,
    pub database: String,
    pub user: String,
    /// Sorted; schema-qualified unless in `public`.
    pub tables: Vec<String>,
}

impl DbTables {
    pub fn new(
        namespace: Option<String>,
        server: String,
        database: String,
        user: String,
        tables: Vec<String>,
    ) -> Self {
        Self {
            api_version: "triage/v1alpha1",
            kind: "DbTables",
            namespace,
            server,
            database,
            user,
            tables,
        }
    }
}

pub fn table(view: &DbTables) -> String {
    if view.tables.is_empty() {
        return format!(
            "No tables in database `{}` at {}\n",
            view.database, view.server
        );
    }
    kubectl_table(
        &["table"],
        view.tables.iter().map(|t| vec![t.clone()]).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(tables: &[&str]) -> DbTables {
        DbTables::new(
            Some("bleater".into()),
            "postgres://bleat:***@127.0.0.1:5432/bleat".into(),
            "bleat".into(),
            "bleat".into(),
            tables.iter().map(|t| t.to_string()).collect(),
        )
    }

    #[test]
    fn tables_are_one_per_row() {
        assert_eq!(
            table(&view(&["audit.log", "users"])),
            "TABLE\naudit.log\nusers\n"
        );
    }

    #[test]
    fn an_empty_database_says_so() {
        assert_eq!(
            table(&view(&[])),
            "No tables in database `bleat` at postgres://bleat:***@127.0.0.1:5432/bleat\n"
        );
    }

    #[test]
    fn json_shape_is_versioned() {
        let json = serde_json::to_value(view(&["users"])).unwrap();
        assert_eq!(json["apiVersion"], "triage/v1alpha1");
        assert_eq!(json["kind"], "DbTables");
        assert_eq!(json["tables"][0], "users");
    }
}
