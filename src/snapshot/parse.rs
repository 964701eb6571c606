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
    let mut builder = Builder::new(origin);
    builder.read(bytes, origin)?;
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
pub(super) struct Builder<'a> {
    snapshot: Snapshot,
    origin: &'a str,
}

impl<'a> Builder<'a> {
    pub(super) fn new(origin: &'a str) -> Self {
        Builder {
            snapshot: Snapshot::default(),
            origin,
        }
    }

    pub(super) fn add(&mut self, object: Value) -> Result<(), TriageError> {
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

    /// Adds the objects of one file (`at` names it in errors): a JSON List or YAML
    /// documents decoded object by object, anything else (a JSON object or array) as
    /// one tree.
    pub(super) fn read(&mut self, bytes: &[u8], at: &str) -> Result<(), TriageError> {
        let text = text_of(bytes, at)?;
        if let Some(snapshot) = json_list(text, at)? {
            self.absorb(snapshot);
            return Ok(());
        }
        if !looks_like_json(text)
            && let Some(snapshot) = yaml_documents(text, at)?
        {
            self.absorb(snapshot);
            return Ok(());
        }
        let mut file = Builder::new(at);
        for object in objects_of_text(text, at)? {
            file.add(object)?;
        }
        self.absorb(file.finish());
        Ok(())
    }

    fn absorb(&mut self, snapshot: Snapshot) {
        self.snapshot.captured_at = self.snapshot.captured_at.max(snapshot.captured_at);
        self.snapshot.absorb(snapshot);
    }

    pub(super) fn finish(self) -> Snapshot {
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

/// JSON when the text starts like JSON (for its precise errors), YAML otherwise.
fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    if looks_like_json(text) {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
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
    let documents: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, yaml_options()).map_err(yaml_error)?;
    Ok(documents.into_iter().filter(|doc| !doc.is_null()).collect())
}

fn looks_like_json(text: &str) -> bool {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    trimmed.starts_with('{') || trimmed.starts_with('[')
}

/// The parser's defaults suit config files; a namespace dump under the size limit
/// has far more nodes. What aliases may replay is capped lower than the default
/// (1 000 000): kubectl writes no aliases, and a 900-byte "billion laughs" took over a
/// second to refuse at the default (tests/fuzz.rs).
fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_nodes: 8_000_000,
            max_events: 32_000_000,
            max_documents: 100_000,
            max_recorded_anchor_events: 100_000,
        },
    }
}

fn yaml_error(err: serde_saphyr::Error) -> String {
    let message = first_line(&err.to_string());
    match err.location() {
        Some(at) => format!(
            "is not valid YAML at line {}, column {}: {message}",
            at.line(),
            at.column()
        ),
        None => format!("is not valid YAML: {message}"),
    }
}

/// The snapshot of YAML documents (a `kind: List`, a multi-document stream, a single
/// object), each object decoded and added as the parser reaches it, as [`json_list`]
/// does for JSON: memory holds the text and the lean typed objects, never a tree of a
/// whole List. `None` when a mapping turned out not to be a List after its `items`
/// were decoded (its `kind` came after them): the general path reads it as a tree.
fn yaml_documents(text: &str, origin: &str) -> Result<Option<Snapshot>, TriageError> {
    let documents: Documents =
        serde_saphyr::from_str_multiple_with_options::<Document, _>(text, yaml_options())
            .map_err(|err| fail(origin, yaml_error(err)))?;
    match documents.failed {
        None => Ok(Some(documents.snapshot)),
        Some((_, Failure::NotAList)) => Ok(None),
        Some((index, Failure::Shape(what))) => {
            Err(fail(origin, format!("document {index}: {what}")))
        }
        Some((_, Failure::Object(what))) => Err(fail(origin, what)),
    }
}

/// The documents of a YAML stream gathered in order; after the first that failed, the
/// rest are parsed (a syntax error further on is still reported) but not kept.
#[derive(Default)]
struct Documents {
    snapshot: Snapshot,
    read: usize,
    failed: Option<(usize, Failure)>,
}

impl Extend<Document> for Documents {
    fn extend<I: IntoIterator<Item = Document>>(&mut self, documents: I) {
        for document in documents {
            self.read += 1;
            if self.failed.is_some() {
                continue;
            }
            if let Some(failure) = document.failed {
                self.failed = Some((self.read, failure));
                continue;
            }
            self.snapshot.captured_at =
                self.snapshot.captured_at.max(document.snapshot.captured_at);
            self.snapshot.absorb(document.snapshot);
        }
    }
}

/// One YAML document's objects, decoded one by one.
#[derive(Default)]
struct Document {
    snapshot: Snapshot,
    failed: Option<Failure>,
}

enum Failure {
    /// The document is no object or List ([`flatten`]'s words).
    Shape(String),
    /// One of its objects is malformed ([`add_object`]'s words, naming it).
    Object(String),
    /// A mapping's `items` were decoded as a List's, then its `kind` said it is none.
    NotAList,
}

impl Document {
    /// Adds `value`, a List's items one by one when it is one; after a failure, nothing.
    fn add(&mut self, value: Value) {
        if self.failed.is_some() {
            return;
        }
        let mut objects = Vec::new();
        if let Err(what) = flatten(value, &mut objects) {
            self.failed = Some(Failure::Shape(what));
            return;
        }
        for object in objects {
            self.snapshot.captured_at = self.snapshot.captured_at.max(newest_timestamp(&object));
            if let Err(what) = add_object(&mut self.snapshot, object) {
                self.failed = Some(Failure::Object(what));
                return;
            }
        }
    }

    fn not_an_object(value: &Value) -> Document {
        Document {
            failed: Some(Failure::Shape(format!(
                "expected a Kubernetes object or a List, found {}",
                type_name(value)
            ))),
            ..Document::default()
        }
    }
}

impl<'de> serde::Deserialize<'de> for Document {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentVisitor::default())
    }
}

/// Reads a document's top level; a mapping's `items` stream through [`YamlItems`] unless
/// its `kind`, read before them, says it is no List.
#[derive(Default)]
struct DocumentVisitor {
    document: Document,
    kind: Option<String>,
    api_version: Option<Value>,
    /// Items without a `kind`, read before the List's own `kind`.
    waiting: Vec<Value>,
}

impl DocumentVisitor {
    fn item(&mut self, mut item: Value) {
        if item.get("kind").is_none() {
            match self.kind.as_deref() {
                Some(kind) => {
                    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
                    fill_item_type(&mut item, item_kind, self.api_version.as_ref());
                }
                None => {
                    self.waiting.push(item);
                    return;
                }
            }
        }
        self.document.add(item);
    }
}

impl<'de> serde::de::Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a Kubernetes object or List")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Document, A::Error> {
        let mut fields = serde_json::Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            let a_list_so_far = self.kind.as_deref().is_none_or(|k| k.ends_with("List"));
            if key == "items" && a_list_so_far {
                match map.next_value_seed(YamlItems(&mut self))? {
                    None => streamed = true,
                    Some(value) => {
                        fields.insert(key, value);
                    }
                }
                continue;
            }
            let value: Value = map.next_value()?;
            match key.as_str() {
                "kind" => self.kind = Some(value.as_str().unwrap_or_default().to_string()),
                "apiVersion" => self.api_version = Some(value.clone()),
                _ => {}
            }
            fields.insert(key, value);
        }
        let kind = self.kind.clone().unwrap_or_default();
        if !kind.ends_with("List") || !(streamed || fields.contains_key("items")) {
            if streamed {
                self.document.failed = Some(Failure::NotAList);
            } else {
                self.document.add(Value::Object(fields));
            }
            return Ok(self.document);
        }
        if !streamed {
            self.document.failed = Some(Failure::Shape(
                "`items` of a List is not a sequence".to_string(),
            ));
            return Ok(self.document);
        }
        for item in std::mem::take(&mut self.waiting) {
            self.item(item);
        }
        Ok(self.document)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<Document, A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            self.document.add(value);
        }
        Ok(self.document)
    }

    fn visit_unit<E>(self) -> Result<Document, E> {
        Ok(Document::default())
    }

    fn visit_none<E>(self) -> Result<Document, E> {
        Ok(Document::default())
    }

    fn visit_bool<E>(self, v: bool) -> Result<Document, E> {
        Ok(Document::not_an_object(&Value::from(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Document, E> {
        Ok(Document::not_an_object(&Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Document, E> {
        Ok(Document::not_an_object(&Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Document, E> {
        // `.nan` is no JSON number: a null document, skipped as the others are.
        match Value::from(v) {
            Value::Null => Ok(Document::default()),
            number => Ok(Document::not_an_object(&number)),
        }
    }

    fn visit_str<E>(self, _: &str) -> Result<Document, E> {
        Ok(Document::not_an_object(&Value::String(String::new())))
    }
}

/// The `items` of a mapping that may be a List: a sequence is added item by item
/// (`None`); anything else is kept as the field's value.
struct YamlItems<'v>(&'v mut DocumentVisitor);

impl<'de> serde::de::DeserializeSeed<'de> for YamlItems<'_> {
    type Value = Option<Value>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<Value>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for YamlItems<'_> {
    type Value = Option<Value>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a sequence of objects")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            self.0.item(item);
        }
        Ok(None)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        use serde::Deserialize as _;
        Value::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::from(v)))
    }
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

    /// The objects the JSON path reads from `json`, for comparing the YAML path to it.
    fn same_snapshot(yaml: &str, json: &serde_json::Value) {
        let from_yaml = parse(yaml).unwrap();
        let from_json = parse(&json.to_string()).unwrap();
        assert_eq!(from_yaml.to_json_items(), from_json.to_json_items());
        assert_eq!(from_yaml.captured_at, from_json.captured_at);
        assert_eq!(from_yaml.secrets_skipped, from_json.secrets_skipped);
        assert!(!from_yaml.to_json_items().is_empty());
    }

    const CM_YAML: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: shop\n  creationTimestamp: \"2025-01-03T00:00:00Z\"\ndata:\n  mode: \"on\"\n";

    fn pod_and_config_map_json() -> Vec<serde_json::Value> {
        vec![
            serde_json::json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "web-1", "namespace": "shop", "creationTimestamp": "2025-01-01T00:00:00Z"},
                "spec": {"containers": [{"name": "web", "image": "nginx"}]}}),
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "app", "namespace": "shop", "creationTimestamp": "2025-01-03T00:00:00Z"},
                "data": {"mode": "on"}}),
        ]
    }

    fn indented_item(object: &str) -> String {
        format!("- {}\n", object.trim_end().replace('\n', "\n  "))
    }

    #[test]
    fn a_streamed_yaml_list_reads_as_its_json() {
        // kubectl sorts keys: `items` comes before the List's `kind`.
        let yaml = format!(
            "apiVersion: v1\nitems:\n{}{}kind: List\nmetadata: {{}}\n",
            indented_item(POD),
            indented_item(CM_YAML)
        );
        let json = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": pod_and_config_map_json()});
        same_snapshot(&yaml, &json);
    }

    #[test]
    fn a_multi_document_stream_reads_as_its_json() {
        let yaml = format!("---\n{POD}---\n{CM_YAML}...\n---\n# nothing\n");
        let json = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": pod_and_config_map_json()});
        same_snapshot(&yaml, &json);
    }

    #[test]
    fn a_typed_list_whose_kind_follows_its_items_types_them() {
        let untyped = |text: &str| {
            indented_item(
                &text
                    .lines()
                    .filter(|l| !l.starts_with("apiVersion") && !l.starts_with("kind"))
                    .map(|l| format!("{l}\n"))
                    .collect::<String>(),
            )
        };
        let yaml = format!("apiVersion: v1\nitems:\n{}kind: PodList\n", untyped(POD));
        let snapshot = parse(&yaml).unwrap();
        assert_eq!(snapshot.pods.len(), 1);
        assert_eq!(snapshot.pods[0].metadata.name.as_deref(), Some("web-1"));
        let json = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [pod_and_config_map_json()[0]]});
        same_snapshot(&yaml, &json);
    }

    #[test]
    fn anchors_within_an_item_read_as_their_expansion() {
        let yaml = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: app\n    namespace: shop\n    labels: &labels {app: web, tier: front}\n    annotations: *labels\n  data: {mode: \"on\"}\nkind: List\n";
        let json = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "app", "namespace": "shop",
                          "labels": {"app": "web", "tier": "front"},
                          "annotations": {"app": "web", "tier": "front"}},
             "data": {"mode": "on"}}]});
        same_snapshot(yaml, &json);
        let snapshot = parse(yaml).unwrap();
        assert_eq!(
            snapshot.config_maps[0]
                .metadata
                .annotations
                .as_ref()
                .unwrap()["tier"],
            "front"
        );
    }

    #[test]
    fn a_malformed_item_in_the_middle_of_a_list_is_named() {
        let bad = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  namespace: shop\nspec: 7\n";
        let yaml = format!(
            "apiVersion: v1\nitems:\n{}{}{}kind: List\n",
            indented_item(POD),
            indented_item(bad),
            indented_item(CM_YAML)
        );
        let err = parse(&yaml).unwrap_err();
        assert!(
            err.starts_with("snapshot `test.yaml` has a malformed Pod `shop/bad`: "),
            "{err}"
        );
        let in_stream = format!("{POD}---\n{bad}---\n{CM_YAML}");
        let err = parse(&in_stream).unwrap_err();
        assert!(err.contains("has a malformed Pod `shop/bad`"), "{err}");
    }

    #[test]
    fn a_scalar_after_objects_names_its_document() {
        let err = parse(&format!("{POD}---\n{CM_YAML}---\n42\n")).unwrap_err();
        assert!(
            err.starts_with("snapshot `test.yaml` document 3: expected a Kubernetes object or a List, found a number"),
            "{err}"
        );
    }

    #[test]
    fn an_object_with_items_that_is_no_list_is_kept_whole() {
        let yaml = "apiVersion: example.com/v1\nitems:\n- a: 1\n- b: 2\nkind: Widget\nmetadata: {name: w, namespace: shop}\n";
        let snapshot = parse(yaml).unwrap();
        assert_eq!(snapshot.other.len(), 1);
        assert_eq!(
            snapshot.other[0].object["items"],
            serde_json::json!([{"a": 1}, {"b": 2}])
        );
        let not_a_sequence = parse("apiVersion: v1\nitems: 3\nkind: List\n").unwrap_err();
        assert!(
            not_a_sequence.contains("document 1: `items` of a List is not a sequence"),
            "{not_a_sequence}"
        );
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
