//! Reading a snapshot file: what `kubectl get ... -o yaml|json` prints (a v1 List,
//! possibly spanning namespaces) or plain multi-document YAML manifests.

use jiff::Timestamp;
use serde_json::Value;

use super::{Kind, RawObject, Snapshot};
use crate::error::TriageError;

/// Larger inputs are refused: a dump that big is a mistake (the wrong file). 100k
/// objects as `kubectl get -o json` prints them take ~170 MB and a few seconds to check
/// (docs/benchmarks.md); four times that much memory is the most a file may cost.
pub const MAX_SNAPSHOT_BYTES: usize = 256 * 1024 * 1024;

/// Annotation kubectl writes on `apply`: a full copy of the object, possibly with
/// sensitive values; triage redacts it wherever it writes objects out.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

const KUBECTL_HINT: &str =
    "write one with `triage snapshot -n NS > FILE` or `kubectl get all,cm,... -n NS -o yaml`";

/// Parses snapshot bytes read from `origin` (a path, or `-` for stdin).
pub fn parse_snapshot(bytes: &[u8], origin: &str) -> Result<Snapshot, TriageError> {
    if bytes.len() > MAX_SNAPSHOT_BYTES {
        return Err(TriageError::input(
            format!(
                "snapshot `{origin}` is {} MiB, over the {} MiB limit",
                bytes.len() / (1024 * 1024),
                MAX_SNAPSHOT_BYTES / (1024 * 1024)
            ),
            Some("capture one namespace only (`triage snapshot -n NS`)".to_string()),
        ));
    }
    let text = text_of(bytes, origin)?;
    if let Some(snapshot) = json_list(text, origin)? {
        return Ok(snapshot);
    }
    let mut builder = Builder::new(origin);
    for object in objects_of_text(text, origin)? {
        builder.add(object)?;
    }
    Ok(builder.finish())
}

fn fail(origin: &str, what: String) -> TriageError {
    TriageError::input(
        format!("snapshot `{origin}` {what}"),
        Some(KUBECTL_HINT.to_string()),
    )
}

/// The snapshot of a JSON file whose top level is a `kind: *List` (what
/// `kubectl get -o json` and `triage snapshot -o json` write), each item decoded and
/// added as the parser reaches it, so memory holds the text and the lean typed
/// objects, never a tree of the whole file. `None` for any other shape (a single
/// object, an array, YAML): the general path reads those.
fn json_list(text: &str, origin: &str) -> Result<Option<Snapshot>, TriageError> {
    use serde::de::Deserializer as _;
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if !trimmed.starts_with('{') {
        return Ok(None);
    }
    let mut list = StreamedList {
        builder: Builder::new(origin),
        kind: None,
        api_version: None,
        waiting: Vec::new(),
        failed: None,
        saw_items: false,
    };
    let mut deserializer = serde_json::Deserializer::from_str(trimmed);
    let parsed = deserializer
        .deserialize_map(&mut list)
        .and_then(|()| deserializer.end());
    if let Some(error) = list.failed {
        return Err(error);
    }
    if let Err(err) = parsed {
        return Err(fail(
            origin,
            format!(
                "is not valid JSON at line {}, column {}: {err}",
                err.line(),
                err.column()
            ),
        ));
    }
    let Some(kind) = list
        .kind
        .filter(|kind| kind.ends_with("List") && list.saw_items)
    else {
        return Ok(None);
    };
    // Items that came before the List's `kind` and carry none of their own.
    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
    for mut item in std::mem::take(&mut list.waiting) {
        fill_item_type(&mut item, item_kind, list.api_version.as_ref());
        list.builder.add_flattened(item)?;
    }
    Ok(Some(list.builder.finish()))
}

/// The visitor of [`json_list`]: the top-level map, its `items` streamed.
struct StreamedList<'a> {
    builder: Builder<'a>,
    kind: Option<String>,
    api_version: Option<Value>,
    /// Items without a `kind`, read before the List's own `kind`.
    waiting: Vec<Value>,
    /// What went wrong adding an item (the parser only carries its own errors).
    failed: Option<TriageError>,
    saw_items: bool,
}

/// The `items` of a [`StreamedList`], added one by one.
struct Items<'l, 'a>(&'l mut StreamedList<'a>);

impl<'de> serde::de::Visitor<'de> for &mut StreamedList<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a Kubernetes List")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "kind" => self.kind = Some(map.next_value()?),
                "apiVersion" => self.api_version = Some(map.next_value()?),
                "items" => {
                    self.saw_items = true;
                    map.next_value_seed(Items(&mut *self))?;
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for Items<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a sequence of objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        while let Some(mut item) = items.next_element::<Value>()? {
            if item.get("kind").is_none() {
                match self.0.kind.as_deref() {
                    Some(kind) => {
                        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
                        fill_item_type(&mut item, item_kind, self.0.api_version.as_ref());
                    }
                    None => {
                        self.0.waiting.push(item);
                        continue;
                    }
                }
            }
            if let Err(error) = self.0.builder.add_flattened(item) {
                self.0.failed = Some(error);
                return Err(A::Error::custom("stopped at a malformed item"));
            }
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Items<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Gathers objects into a snapshot one at a time; the capture time is the newest
/// timestamp seen.
struct Builder<'a> {
    snapshot: Snapshot,
    origin: &'a str,
}

impl<'a> Builder<'a> {
    fn new(origin: &'a str) -> Self {
        Builder {
            snapshot: Snapshot::default(),
            origin,
        }
    }

    fn add(&mut self, object: Value) -> Result<(), TriageError> {
        self.snapshot.captured_at = self.snapshot.captured_at.max(newest_timestamp(&object));
        add_object(&mut self.snapshot, object).map_err(|what| fail(self.origin, what))
    }

    /// Adds `value`, a List's items one by one when it is one.
    fn add_flattened(&mut self, value: Value) -> Result<(), TriageError> {
        let mut objects = Vec::new();
        flatten(value, &mut objects)
            .map_err(|what| fail(self.origin, format!("document 1: {what}")))?;
        objects.into_iter().try_for_each(|object| self.add(object))
    }

    fn finish(self) -> Snapshot {
        self.snapshot
    }
}

/// The objects of one file (a List, a JSON array, multi-document YAML), Lists unwrapped.
/// Items of a typed list that carry no `apiVersion`/`kind` (what client-go's typed
/// lists marshal to, as support bundles store them) take them from the list
/// (`PodList` -> `Pod`).
pub fn objects_in(bytes: &[u8], origin: &str) -> Result<Vec<Value>, TriageError> {
    objects_of_text(text_of(bytes, origin)?, origin)
}

/// The input as text: UTF-8 and not blank.
fn text_of<'a>(bytes: &'a [u8], origin: &str) -> Result<&'a str, TriageError> {
    let text = std::str::from_utf8(bytes).map_err(|err| {
        fail(
            origin,
            format!(
                "is not UTF-8 text (invalid byte at offset {})",
                err.valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(fail(origin, "is empty".to_string()));
    }
    Ok(text)
}

fn objects_of_text(text: &str, origin: &str) -> Result<Vec<Value>, TriageError> {
    let documents = parse_documents(text).map_err(|what| fail(origin, what))?;
    let mut objects = Vec::new();
    for (index, document) in documents.into_iter().enumerate() {
        flatten(document, &mut objects)
            .map_err(|what| fail(origin, format!("document {}: {what}", index + 1)))?;
    }
    Ok(objects)
}

/// A snapshot of parsed objects (Secrets dropped unread, ContainerLog items as logs);
/// `origin` names where they came from in errors.
pub fn from_objects(objects: Vec<Value>, origin: &str) -> Result<Snapshot, TriageError> {
    let mut builder = Builder::new(origin);
    for object in objects {
        builder.add(object)?;
    }
    Ok(builder.finish())
}

/// JSON when the text starts like JSON (for its precise errors), YAML otherwise.
fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str::<Value>(trimmed)
            .map(|value| vec![value])
            .map_err(|err| {
                format!(
                    "is not valid JSON at line {}, column {}: {err}",
                    err.line(),
                    err.column()
                )
            });
    }
    // The parser's defaults suit config files; a namespace dump under the size limit
    // has far more nodes. What aliases may replay is capped lower than the default
    // (1 000 000): kubectl writes no aliases, and a 900-byte "billion laughs" took over a
    // second to refuse at the default (tests/fuzz.rs).
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: 8_000_000,
            max_events: 32_000_000,
            max_documents: 100_000,
            max_recorded_anchor_events: 100_000,
        },
    };
    let documents: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|err| {
            let message = first_line(&err.to_string());
            match err.location() {
                Some(at) => format!(
                    "is not valid YAML at line {}, column {}: {message}",
                    at.line(),
                    at.column()
                ),
                None => format!("is not valid YAML: {message}"),
            }
        })?;
    Ok(documents.into_iter().filter(|doc| !doc.is_null()).collect())
}

/// The parser's own words without its `error: line N column M:` prefix (triage
/// prints the location itself).
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    match line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message.to_string(),
        None => line.to_string(),
    }
}

/// Unwraps `kind: List` (and `PodList`-style typed lists, and JSON arrays) into objects.
fn flatten(value: Value, out: &mut Vec<Value>) -> Result<(), String> {
    match value {
        Value::Array(items) => {
            for item in items {
                flatten(item, out)?;
            }
            Ok(())
        }
        Value::Object(ref map) => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
            if kind.ends_with("List") && map.get("items").is_some() {
                let Some(Value::Array(items)) = map.get("items").cloned() else {
                    return Err("`items` of a List is not a sequence".to_string());
                };
                let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
                let api_version = map.get("apiVersion").cloned();
                for mut item in items {
                    fill_item_type(&mut item, item_kind, api_version.as_ref());
                    flatten(item, out)?;
                }
            } else {
                out.push(value);
            }
            Ok(())
        }
        other => Err(format!(
            "expected a Kubernetes object or a List, found {}",
            type_name(&other)
        )),
    }
}

/// An item of a typed list (`PodList`) without `kind` takes it, and the list's
/// `apiVersion`, from the list.
fn fill_item_type(item: &mut Value, item_kind: Option<&str>, api_version: Option<&Value>) {
    if let (Some(item_kind), Value::Object(fields)) = (item_kind, item)
        && !fields.contains_key("kind")
    {
        fields.insert("kind".to_string(), Value::String(item_kind.to_string()));
        if let Some(api_version) = api_version {
            fields
                .entry("apiVersion")
                .or_insert_with(|| api_version.clone());
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

fn add_object(snapshot: &mut Snapshot, object: Value) -> Result<(), String> {
    let api_version = str_at(&object, &["apiVersion"])
        .unwrap_or_default()
        .to_string();
    let kind_name = str_at(&object, &["kind"]).unwrap_or_default().to_string();
    let name = str_at(&object, &["metadata", "name"])
        .unwrap_or_default()
        .to_string();
    let namespace = str_at(&object, &["metadata", "namespace"]).map(str::to_string);
    if api_version.is_empty() || kind_name.is_empty() {
        return Err(format!(
            "holds an object without `apiVersion` and `kind` (name `{name}`)"
        ));
    }
    if kind_name == crate::logs::ITEM_KIND && api_version == crate::logs::ITEM_API_VERSION {
        return match crate::logs::from_item(&object) {
            Ok(crate::logs::Item::Log(log)) => {
                snapshot.logs.push(log);
                Ok(())
            }
            Ok(crate::logs::Item::Gap(gap)) => {
                snapshot.log_gaps.push(gap);
                Ok(())
            }
            Err(what) => {
                let container = str_at(&object, &["container"]).unwrap_or("?");
                let at = namespace.map_or(name.clone(), |ns| format!("{ns}/{name}"));
                Err(format!(
                    "has a malformed ContainerLog `{at}` container `{container}`: {what} (docs/output.md)"
                ))
            }
        };
    }
    if kind_name == "Secret" && api_version == "v1" {
        // NB: never keep Secret data, not even in memory.
        snapshot.secrets_skipped += 1;
        return Ok(());
    }
    match Kind::from_type(&api_version, &kind_name) {
        Some(kind) => snapshot.insert_json(kind, object).map_err(|err| {
            let at = namespace.map_or(name.clone(), |ns| format!("{ns}/{name}"));
            format!("has a malformed {kind_name} `{at}`: {err}")
        }),
        None => {
            snapshot.other.push(RawObject {
                api_version,
                kind: kind_name,
                namespace,
                name,
                object,
            });
            Ok(())
        }
    }
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |at, key| at.get(key))
        .and_then(Value::as_str)
}

/// Field names whose values are moments something happened to the object.
const TIME_FIELDS: [&str; 13] = [
    "creationTimestamp",
    "deletionTimestamp",
    "firstTimestamp",
    "lastTimestamp",
    "eventTime",
    "startedAt",
    "finishedAt",
    "lastTransitionTime",
    "lastProbeTime",
    "lastUpdateTime",
    "startTime",
    "completionTime",
    "time",
];

/// The newest of the object's own timestamps (never ConfigMap data values).
fn newest_timestamp(object: &Value) -> Option<Timestamp> {
    fn walk(value: &Value, newest: &mut Option<Timestamp>) {
        match value {
            Value::Object(map) => {
                for (key, field) in map {
                    if key == "data" || key == "binaryData" {
                        continue;
                    }
                    if let (true, Some(text)) =
                        (TIME_FIELDS.contains(&key.as_str()), field.as_str())
                        && let Ok(at) = text.parse::<Timestamp>()
                    {
                        *newest = (*newest).max(Some(at));
                    }
                    walk(field, newest);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(item, newest)),
            _ => {}
        }
    }
    let mut newest = None;
    walk(object, &mut newest);
    newest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Snapshot, String> {
        parse_snapshot(text.as_bytes(), "test.yaml").map_err(|e| {
            let hint = e.hint().unwrap_or_default().to_string();
            format!("{e}; {hint}")
        })
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n  namespace: shop\n  creationTimestamp: \"2025-01-01T00:00:00Z\"\nspec:\n  containers:\n  - name: web\n    image: nginx\n";

    #[test]
    fn reads_a_kubectl_list() {
        let text = format!(
            "apiVersion: v1\nkind: List\nitems:\n- {}",
            POD.replace('\n', "\n  ").trim_end()
        );
        let snapshot = parse(&text).unwrap();
        assert_eq!(snapshot.pods.len(), 1);
        assert_eq!(snapshot.namespaces(), vec!["shop".to_string()]);
    }

    #[test]
    fn reads_multi_document_manifests_and_keeps_unknown_kinds_raw() {
        let text = format!(
            "{POD}---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: shop\n---\n"
        );
        let snapshot = parse(&text).unwrap();
        assert_eq!(snapshot.pods.len(), 1);
        assert_eq!(snapshot.other.len(), 1);
        assert_eq!(snapshot.other[0].kind, "Widget");
    }

    #[test]
    fn reads_json_lists() {
        let text = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"x"},"data":{"k":"v"}}]}"#;
        assert_eq!(parse(text).unwrap().config_maps.len(), 1);
    }

    #[test]
    fn drops_secrets_unread() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: x\ndata:\n  password: aHVudGVyMg==\n";
        let snapshot = parse(text).unwrap();
        assert_eq!(snapshot.secrets_skipped, 1);
        assert!(snapshot.other.is_empty());
        assert!(!format!("{snapshot:?}").contains("aHVudGVyMg"));
    }

    #[test]
    fn capture_time_is_the_newest_object_timestamp_not_data() {
        let text = format!(
            "{POD}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lock\n  namespace: shop\n  creationTimestamp: \"2025-01-02T00:00:00Z\"\ndata:\n  time: \"2030-01-01T00:00:00Z\"\n"
        );
        let snapshot = parse(&text).unwrap();
        assert_eq!(
            snapshot.captured_at.unwrap().to_string(),
            "2025-01-02T00:00:00Z"
        );
    }

    #[test]
    fn empty_input_is_one_clear_error() {
        let err = parse("  \n").unwrap_err();
        assert!(err.starts_with("snapshot `test.yaml` is empty"), "{err}");
    }

    #[test]
    fn yaml_syntax_error_names_line_and_column() {
        let err = parse("apiVersion: v1\nkind: Pod\nmetadata: [unclosed\n").unwrap_err();
        assert!(err.contains("is not valid YAML at line"), "{err}");
        assert!(err.contains("column"), "{err}");
    }

    #[test]
    fn json_syntax_error_names_line_and_column() {
        let err = parse("{\"kind\": \"List\",\n \"items\": [}").unwrap_err();
        assert!(err.contains("is not valid JSON at line 2, column"), "{err}");
    }

    #[test]
    fn malformed_object_names_kind_and_name() {
        let err =
            parse("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns1\nspec: 7\n")
                .unwrap_err();
        assert!(err.contains("malformed Pod `ns1/p`"), "{err}");
    }

    #[test]
    fn non_utf8_is_refused_with_offset() {
        let err = parse_snapshot(b"kind: \xff\xfe", "bin")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "snapshot `bin` is not UTF-8 text (invalid byte at offset 6)"
        );
    }

    #[test]
    fn huge_input_is_refused_before_parsing() {
        let bytes = vec![b' '; MAX_SNAPSHOT_BYTES + 1];
        let err = parse_snapshot(&bytes, "big").unwrap_err().to_string();
        assert!(err.contains("over the 256 MiB limit"), "{err}");
    }

    #[test]
    fn scalar_document_is_refused() {
        let err = parse("just some words\n").unwrap_err();
        assert!(
            err.contains("expected a Kubernetes object or a List, found a string"),
            "{err}"
        );
    }

    #[test]
    fn a_large_namespace_dump_is_within_budget() {
        let pod = "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: NAME, namespace: big}\n  data: {a: \"1\", b: \"2\", c: \"3\"}\n";
        let items: String = (0..25_000)
            .map(|i| pod.replace("NAME", &format!("cm-{i}")))
            .collect();
        let text = format!("apiVersion: v1\nkind: List\nitems:\n{items}");
        assert_eq!(parse(&text).unwrap().config_maps.len(), 25_000);
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let prev = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            text.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.contains("budget"), "{err}");
    }

    #[test]
    fn logs_survive_a_round_trip_through_the_snapshot_file() {
        let text = format!(
            "{POD}---\napiVersion: triage/v1alpha1\nkind: ContainerLog\nmetadata: {{namespace: shop, name: web-1}}\ncontainer: web\nprevious: true\nlines: [\"listening\", \"panic: nil map\", \"  - key: yes # not a comment\", \"\"]\n---\napiVersion: triage/v1alpha1\nkind: ContainerLog\nmetadata: {{namespace: shop, name: web-1}}\ncontainer: sidecar\ngap: {{reason: failed, message: no kubelet}}\n"
        );
        let first = parse(&text).unwrap();
        assert_eq!(first.logs.len(), 1);
        assert_eq!(
            first.logs[0].lines,
            vec![
                "listening",
                "panic: nil map",
                "  - key: yes # not a comment",
                ""
            ]
        );
        assert!(first.logs[0].source.previous);
        assert_eq!(
            first.log_gaps[0].gap,
            crate::snapshot::Gap::Failed("no kubelet".into())
        );
        assert!(first.other.is_empty(), "logs are not unknown objects");
        // What `triage snapshot` writes from it reads back the same.
        let list =
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": first.to_json_items()});
        let written = serde_saphyr::to_string(&list).unwrap();
        let second = parse(&written).unwrap();
        assert_eq!(second.logs, first.logs);
        assert_eq!(second.log_gaps, first.log_gaps);
        assert_eq!(second.pods, first.pods);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse_snapshot(&bytes, "fuzz");
        }

        #[test]
        fn arbitrary_yaml_like_text_never_panics(text in "[a-z:{}\\[\\] \\-\n\"'|>&*!#0-9]{0,300}") {
            let _ = parse_snapshot(text.as_bytes(), "fuzz");
        }
    }
}
