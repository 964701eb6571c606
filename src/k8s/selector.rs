//! Label selectors: matching (`matchLabels` and `matchExpressions`) and a short
//! `key=value` description for tables.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `labels` satisfy `selector`. `None` selects nothing (as in a NetworkPolicy
/// peer without that selector); an empty selector `{}` selects everything.
pub fn matches(
    selector: Option<&LabelSelector>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(selector) = selector else {
        return false;
    };
    let empty = BTreeMap::new();
    let labels = labels.unwrap_or(&empty);
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    let expressions_match = selector.match_expressions.iter().flatten().all(|expr| {
        let values = expr.values.as_deref().unwrap_or_default();
        let value = labels.get(&expr.key);
        match expr.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            // An operator the API server would reject: match nothing rather than guess.
            _ => false,
        }
    });
    labels_match && expressions_match
}

/// `key=value,key in (a,b)`; `<all pods>` for an empty selector, `<none>` for none.
pub fn describe(selector: Option<&LabelSelector>) -> String {
    let Some(selector) = selector else {
        return "<none>".to_string();
    };
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    parts.extend(selector.match_expressions.iter().flatten().map(|expr| {
        let values = expr.values.as_deref().unwrap_or_default().join(",");
        match expr.operator.as_str() {
            "In" => format!("{} in ({values})", expr.key),
            "NotIn" => format!("{} notin ({values})", expr.key),
            "Exists" => expr.key.clone(),
            "DoesNotExist" => format!("!{}", expr.key),
            other => format!("{} {other} ({values})", expr.key),
        }
    }));
    if parts.is_empty() {
        "<all pods>".to_string()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selector(yaml: &str) -> LabelSelector {
        serde_saphyr::from_str(yaml).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_selector_matches_everything_and_none_matches_nothing() {
        let all = selector("{}");
        assert!(matches(Some(&all), None));
        assert!(!matches(None, Some(&labels(&[("a", "b")]))));
        assert_eq!(describe(Some(&all)), "<all pods>");
    }

    #[test]
    fn match_labels_and_expressions_combine() {
        let s = selector(
            "matchLabels: {app: orders}\nmatchExpressions:\n- {key: tier, operator: In, values: [api, web]}\n- {key: canary, operator: DoesNotExist}\n",
        );
        assert!(matches(
            Some(&s),
            Some(&labels(&[("app", "orders"), ("tier", "api")]))
        ));
        assert!(!matches(
            Some(&s),
            Some(&labels(&[("app", "orders"), ("tier", "db")]))
        ));
        assert!(!matches(
            Some(&s),
            Some(&labels(&[
                ("app", "orders"),
                ("tier", "api"),
                ("canary", "1")
            ]))
        ));
        assert_eq!(describe(Some(&s)), "app=orders,tier in (api,web),!canary");
    }
}
