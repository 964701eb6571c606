//! Fuzzing the readers of untrusted input with proptest (issue 13, item 4): the snapshot
//! reader (YAML and JSON files, and every support-bundle layout, as assembled entries
//! and as `.tar.gz` archives), the profile reader and the migration script analyzer and
//! fixer. Inputs are mutations of the fixtures (byte flips, truncations, deletions,
//! duplications, splices between fixtures, deep nesting, huge numbers, odd unicode,
//! YAML's aliases), and what parses is run through the pure core (inventory, check,
//! plan, repair plan), where odd values (quantities, timestamps, names) end up.
//!
//! Properties: no panic, and no input slower to read than 1 s per MB (1 s at least:
//! a measured budget, not a timed unit test; each target prints its slowest input).
//! `TRIAGE_FUZZ_CASES` sets the cases per target (`scripts/test` sets it for about a
//! minute in all); `cargo test` alone runs a few. cargo-fuzz would need nightly and
//! `cargo install cargo-fuzz` in CI; proptest runs inside `cargo test` on stable.
//! A crash found here becomes a regression test at the bottom of this file.

use std::cell::RefCell;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

use triage::finding::Context;
use triage::profile::Profile;
use triage::snapshot::Snapshot;
use triage::snapshot::bundle::{self, Entry};
use triage::snapshot::parse::{objects_in, parse_snapshot};

// ---------------------------------------------------------------- the budget

/// Cases per target: `TRIAGE_FUZZ_CASES` divided by the target's `cost` (how many
/// small inputs one of its inputs is worth), else `default` (kept small for `cargo test`).
fn cases(default: u32, cost: u32) -> u32 {
    std::env::var("TRIAGE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(default, |cases| (cases / cost).max(default))
}

/// The slowest input a target met, per MB (inputs under 1 MB count as 1 MB).
#[derive(Default)]
struct Slowest {
    cases: usize,
    /// Inputs the reader accepted (and the core then ran on).
    accepted: usize,
    bytes: usize,
    elapsed: Duration,
    wall: Duration,
    per_mb: f64,
}

/// The CPU time this thread has run: the first field of /proc/thread-self/schedstat
/// (nanoseconds on a CPU; Documentation/scheduler/sched-stats.rst). The tests share
/// their cores with builds and other tests, so the wall clock would measure the
/// machine's load, not the parser. `None` off Linux: the wall clock then.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

const MB: f64 = 1024.0 * 1024.0;
/// The issue's bound: no input of 1 MB taking over a second.
const SECONDS_PER_MB: f64 = 1.0;

/// Runs `read` on `cases` inputs drawn from `strategy`, each timed (`read` returns the
/// input's size and whether the reader accepted it); fails on a panic
/// (proptest reports the input, shrunk) or an input over the budget, and prints the
/// slowest one straight to stderr (the test harness captures only `eprintln!`).
fn fuzz<S>(
    target: &str,
    (default_cases, cost): (u32, u32),
    strategy: S,
    read: impl Fn(&S::Value) -> (usize, bool),
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let config = Config {
        cases: cases(default_cases, cost),
        failure_persistence: None,
        // Shrinking a 1 MB input takes long and a panic's input is small anyway.
        max_shrink_iters: 256,
        ..Config::default()
    };
    // A fixed seed per target unless TRIAGE_FUZZ_SEED says otherwise: a failure in CI
    // replays locally.
    let seed: u64 = std::env::var("TRIAGE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x7269_6167_6500);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    seed_bytes[8..8 + target.len().min(24)]
        .copy_from_slice(&target.as_bytes()[..target.len().min(24)]);
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let slowest = RefCell::new(Slowest::default());
    let result = runner.run(&strategy, |input| {
        let (cpu, wall) = (thread_cpu_time(), Instant::now());
        let (bytes, accepted) = read(&input);
        let wall = wall.elapsed();
        let elapsed = match (cpu, thread_cpu_time()) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => wall,
        };
        let per_mb = elapsed.as_secs_f64() / (bytes as f64 / MB).max(1.0);
        if std::env::var_os("TRIAGE_FUZZ_VERBOSE").is_some() {
            let _ = writeln!(
                std::io::stderr(),
                "fuzz {target}: {bytes} bytes, {elapsed:?} CPU, {wall:?} wall: {input:?}"
            );
        }
        let mut slowest = slowest.borrow_mut();
        slowest.cases += 1;
        slowest.accepted += usize::from(accepted);
        if per_mb > slowest.per_mb {
            *slowest = Slowest {
                cases: slowest.cases,
                accepted: slowest.accepted,
                bytes,
                elapsed,
                wall,
                per_mb,
            };
        }
        prop_assert!(
            per_mb <= SECONDS_PER_MB,
            "{target}: {bytes} bytes took {elapsed:?} of CPU time, over {SECONDS_PER_MB} s per MB"
        );
        Ok(())
    });
    let slowest = slowest.into_inner();
    let _ = writeln!(
        std::io::stderr(),
        "fuzz {target}: {} inputs ({} accepted), slowest {:.1} ms of CPU ({:.1} ms wall) for {} KB: {:.3} s per MB (bound {SECONDS_PER_MB})",
        slowest.cases,
        slowest.accepted,
        slowest.elapsed.as_secs_f64() * 1000.0,
        slowest.wall.as_secs_f64() * 1000.0,
        slowest.bytes / 1024,
        slowest.per_mb,
    );
    if let Err(failure) = result {
        panic!("fuzz {target}: {failure}");
    }
}

// ---------------------------------------------------------------- seeds

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const SNAPSHOT_FIXTURES: [&str; 8] = [
    "bleater-incident.yaml",
    "bleater-healthy.yaml",
    "ledger-incident.yaml",
    "ledger-healthy.yaml",
    "orders-incident.yaml",
    "shop-incident.yaml",
    "storage-incident.yaml",
    "ledger-profile.yaml",
];

struct Seeds {
    /// Whole fixture files as written (YAML) and as JSON Lists.
    files: Vec<Vec<u8>>,
    /// Every object of every fixture, as JSON.
    objects: Vec<Value>,
    profiles: Vec<String>,
    scripts: Vec<String>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut files = Vec::new();
        let mut objects = Vec::new();
        for name in &SNAPSHOT_FIXTURES[..7] {
            let bytes = std::fs::read(root().join("examples").join(name)).unwrap();
            let items = objects_in(&bytes, name).unwrap();
            files.push(bytes);
            files.push(
                serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
                    .unwrap(),
            );
            objects.extend(items);
        }
        let profiles = [
            root().join("src/profile/bleater.yaml"),
            root().join("examples/ledger-profile.yaml"),
        ]
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect();
        // The fixtures' shell scripts: ConfigMap keys ending `.sh`, and what the
        // migration-script repair makes of them.
        let mut scripts: Vec<String> = objects
            .iter()
            .filter(|o| o["kind"] == "ConfigMap")
            .filter_map(|o| o["data"].as_object())
            .flat_map(|data| data.iter())
            .filter(|(key, _)| key.ends_with(".sh"))
            .filter_map(|(_, value)| value.as_str().map(str::to_string))
            .collect();
        scripts.sort();
        scripts.dedup();
        assert!(scripts.len() >= 3, "the fixtures hold migration scripts");
        let fixed: Vec<String> = scripts
            .iter()
            .map(|s| triage::repair::migration_script::fix_script(s))
            .collect();
        scripts.extend(fixed);
        Seeds {
            files,
            objects,
            profiles,
            scripts,
        }
    })
}

// ---------------------------------------------------------------- mutations

/// Text that parsers and the core treat specially.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "- ",
    ": ",
    ":",
    ",",
    "\n",
    "\n---\n",
    "...\n",
    "&a ",
    "*a",
    "<<: *a\n",
    "!!binary ",
    "!!str ",
    "!!int ",
    "!!map ",
    "!custom ",
    "? ",
    "|\n",
    ">-\n",
    "|+2\n",
    "\"",
    "'",
    "\\",
    "#",
    "\t",
    "\r\n",
    "\r",
    "\0",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    // Numbers: huge, tiny, overflowing every integer type, special floats.
    "1e99999",
    "-1e-99999",
    "99999999999999999999999999999999999999",
    "-9223372036854775809",
    "18446744073709551616",
    "0x7fffffffffffffff",
    "0o777777777777777777777",
    ".nan",
    ".inf",
    "-.inf",
    "-0",
    "1_000",
    "0.",
    "null",
    "~",
    "true",
    "yes",
    "no",
    "on",
    // Quantities and times the core parses.
    "999999999999999999999999999Ei",
    "1e308m",
    "-5Gi",
    "0.0000000001n",
    "12345678901234567890Ki",
    "2026-13-45T99:99:99Z",
    "9999-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    "-1s",
    "1e9h",
    // Unicode: BOM, bidi override, zero width, combining, astral, noncharacters.
    "\u{FEFF}",
    "\u{202E}",
    "\u{200B}",
    "é",
    "e\u{301}",
    "\u{1D518}",
    "\u{1F980}",
    "\u{10FFFF}",
    "\u{FFFE}",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\"\\U0010FFFF\"",
    // Shapes of objects.
    "kind: List\nitems:\n",
    "apiVersion: v1\n",
    "metadata: {name: x, namespace: y}\n",
    "items: null\n",
    "items: {}\n",
    "resourceVersion: \"\"\n",
    "ownerReferences: [{}]\n",
    "labels: {a: [1]}\n",
    "containers: [{}]\n",
    "status: {containerStatuses: [{state: {}}]}\n",
];

/// Invalid UTF-8 and control bytes.
const BYTES: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\x1b[2J",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: Index,
        byte: u8,
    },
    Token {
        at: Index,
        token: Index,
    },
    Bytes {
        at: Index,
        bytes: Index,
    },
    Truncate {
        at: Index,
    },
    Delete {
        at: Index,
        len: usize,
    },
    Duplicate {
        from: Index,
        len: usize,
        to: Index,
    },
    /// A piece of another seed, so fixtures mix.
    Splice {
        seed: Index,
        from: Index,
        len: usize,
        to: Index,
    },
    /// `depth` openers (`[`, `{a: `, `- `) in a row: nesting far past any real file.
    Nest {
        at: Index,
        depth: usize,
        opener: Index,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<Index>();
    prop_oneof![
        // Mostly printable: a random byte is invalid UTF-8 half the time, and the
        // reader refuses the whole file at once.
        4 => (at.clone(), prop_oneof![3 => 0x20u8..0x7f, 1 => any::<u8>()])
            .prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        4 => (at.clone(), any::<Index>()).prop_map(|(at, token)| Mutation::Token { at, token }),
        1 => (at.clone(), any::<Index>()).prop_map(|(at, bytes)| Mutation::Bytes { at, bytes }),
        1 => at.clone().prop_map(|at| Mutation::Truncate { at }),
        2 => (at.clone(), 1..4096usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        2 => (at.clone(), 1..4096usize, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate { from, len, to }),
        2 => (any::<Index>(), at.clone(), 1..8192usize, any::<Index>())
            .prop_map(|(seed, from, len, to)| Mutation::Splice { seed, from, len, to }),
        1 => (at, prop_oneof![1..64usize, 64..20_000usize], any::<Index>())
            .prop_map(|(at, depth, opener)| Mutation::Nest { at, depth, opener }),
    ]
}

/// Applies `mutations` to `bytes`; `pool` is what splices take from.
fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation], pool: &[&[u8]]) -> Vec<u8> {
    let spot = |at: &Index, len: usize| if len == 0 { 0 } else { at.index(len + 1) };
    for mutation in mutations {
        let len = bytes.len();
        match mutation {
            Mutation::Flip { at, byte } => {
                if len > 0 {
                    bytes[at.index(len)] = *byte;
                }
            }
            Mutation::Token { at, token } => {
                let at = spot(at, len);
                let token = TOKENS[token.index(TOKENS.len())].as_bytes();
                bytes.splice(at..at, token.iter().copied());
            }
            Mutation::Bytes { at, bytes: which } => {
                let at = spot(at, len);
                bytes.splice(at..at, BYTES[which.index(BYTES.len())].iter().copied());
            }
            Mutation::Truncate { at } => bytes.truncate(spot(at, len)),
            Mutation::Delete { at, len: n } => {
                let at = spot(at, len);
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Duplicate { from, len: n, to } => {
                let from = spot(from, len);
                let piece = bytes[from..(from + n).min(len)].to_vec();
                let to = spot(to, len);
                bytes.splice(to..to, piece);
            }
            Mutation::Splice {
                seed,
                from,
                len: n,
                to,
            } => {
                let other = pool[seed.index(pool.len())];
                let from = spot(from, other.len());
                let piece = &other[from..(from + n).min(other.len())];
                let to = spot(to, len);
                bytes.splice(to..to, piece.iter().copied());
            }
            Mutation::Nest { at, depth, opener } => {
                let opener = ["[", "{a: ", "- ", "{", "[{\"a\":"][opener.index(5)];
                let at = spot(at, len);
                bytes.splice(at..at, opener.repeat(*depth).into_bytes());
            }
        }
    }
    bytes
}

/// Up to `max` byte-level mutations; none at all a fifth of the time (the value edits
/// alone, or the seed itself).
fn mutations(max: usize) -> impl Strategy<Value = Vec<Mutation>> {
    prop_oneof![
        1 => Just(Vec::new()),
        4 => proptest::collection::vec(mutation(), 1..=max),
    ]
}

/// A mutated input, shown by its size and mutations (a 300 KB Debug is no help).
#[derive(Clone)]
struct Input {
    bytes: Vec<u8>,
    how: String,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head = String::from_utf8_lossy(&self.bytes[..self.bytes.len().min(400)]);
        write!(
            f,
            "{} bytes from {}; starts {head:?}",
            self.bytes.len(),
            self.how
        )
    }
}

/// Values planted in objects: what a parser accepts and the core must still survive.
fn odd_values() -> Vec<Value> {
    let mut deep = json!("bottom");
    for _ in 0..100 {
        deep = json!([deep]);
    }
    vec![
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(1e308),
        json!(-1e308),
        json!(5e-324),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(0.5),
        json!(""),
        json!([]),
        json!({}),
        json!([{}]),
        json!("999999999999999999999999999Ei"),
        json!("-5Gi"),
        json!("1e308m"),
        json!("0.000000001n"),
        json!("18446744073709551616"),
        json!("2026-13-45T99:99:99Z"),
        json!("9999-12-31T23:59:59Z"),
        json!("0001-01-01T00:00:00Z"),
        json!("\u{202E}evil"),
        json!("e\u{301}\u{200B}\u{FEFF}"),
        json!("\u{1F980}".repeat(64)),
        json!("x".repeat(5000)),
        json!("a/b/../c"),
        json!("*"),
        json!("system:masters"),
        json!("kube-system"),
        json!("Pod"),
        json!("v1"),
        deep,
    ]
}

/// One change to a parsed object: at the node `at` (in document order), replace its
/// value with an odd one (mostly of the same JSON type, which typed objects accept),
/// remove it, or wrap it in a list or a map.
#[derive(Debug, Clone)]
struct ValueEdit {
    at: Index,
    how: Index,
    same_type: bool,
}

fn value_edit() -> impl Strategy<Value = ValueEdit> {
    (
        any::<Index>(),
        any::<Index>(),
        proptest::bool::weighted(0.8),
    )
        .prop_map(|(at, how, same_type)| ValueEdit { at, how, same_type })
}

fn same_type(a: &Value, b: &Value) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
        && (!a.is_number() || a.is_f64() == b.is_f64())
}

fn pointers(value: &Value, here: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{here}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                pointers(child, format!("{here}/{index}"), out);
            }
        }
        _ => {}
    }
    out.push(here);
}

fn edit_values(items: &mut Value, edits: &[ValueEdit]) {
    let odd = odd_values();
    for edit in edits {
        let mut all = Vec::new();
        pointers(items, String::new(), &mut all);
        all.retain(|p| p.matches('/').count() >= 2); // never the list of items itself
        if all.is_empty() {
            return;
        }
        let pointer = &all[edit.at.index(all.len())];
        let choice = edit.how.index(odd.len() + 3);
        if choice == odd.len() {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            match items.pointer_mut(parent) {
                Some(Value::Object(map)) => {
                    map.remove(&key.replace("~1", "/").replace("~0", "~"));
                }
                Some(Value::Array(list)) => {
                    let index: usize = key.parse().unwrap();
                    list.remove(index);
                }
                _ => {}
            }
            continue;
        }
        let Some(node) = items.pointer_mut(pointer) else {
            continue;
        };
        if edit.same_type {
            let alike: Vec<&Value> = odd.iter().filter(|v| same_type(v, node)).collect();
            if !alike.is_empty() {
                *node = alike[edit.how.index(alike.len())].clone();
                continue;
            }
        }
        *node = match choice - odd.len().min(choice) {
            _ if choice < odd.len() => odd[choice].clone(),
            1 => json!([node.take()]),
            _ => json!({"wrapped": node.take()}),
        };
    }
}

/// A fixture's objects, a few of them, some values changed: small seeds run many more
/// cases than whole files, and most still parse, so the core runs on them.
fn some_objects() -> impl Strategy<Value = Vec<Value>> {
    let count = seeds().objects.len();
    (
        proptest::collection::vec(0..count, 1..6),
        proptest::collection::vec(value_edit(), 0..8),
    )
        .prop_map(|(picks, edits)| {
            let mut items = Value::Array(
                picks
                    .into_iter()
                    .map(|i| seeds().objects[i].clone())
                    .collect(),
            );
            edit_values(&mut items, &edits);
            match items {
                Value::Array(items) => items,
                _ => unreachable!("the list itself is never edited"),
            }
        })
}

/// Snapshot files: a whole fixture (YAML or JSON) or a few of its objects as a List
/// (JSON, YAML, or YAML documents), then mutated.
fn snapshot_file() -> impl Strategy<Value = Input> {
    let whole = (0..seeds().files.len(), mutations(4))
        .prop_map(|(i, m)| (seeds().files[i].clone(), format!("file {i}"), m));
    // Half of these keep their bytes: the value edits alone, so that most parse and
    // the core runs on odd values.
    let bytes_kept = prop_oneof![1 => Just(Vec::new()), 1 => mutations(8)];
    let few = (some_objects(), 0..3usize, bytes_kept).prop_map(|(items, form, m)| {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
        let bytes = match form {
            0 => serde_json::to_vec_pretty(&list).unwrap(),
            1 => serde_saphyr::to_string(&list).unwrap().into_bytes(),
            _ => items
                .iter()
                .map(|item| serde_saphyr::to_string(item).unwrap())
                .collect::<Vec<_>>()
                .join("---\n")
                .into_bytes(),
        };
        (bytes, format!("{} objects, form {form}", items.len()), m)
    });
    prop_oneof![1 => whole, 4 => few].prop_map(|(bytes, what, m)| {
        let pool: Vec<&[u8]> = seeds().files.iter().map(Vec::as_slice).collect();
        Input {
            bytes: mutate(bytes, &m, &pool),
            how: format!("{what} with {m:?}"),
        }
    })
}

// ---------------------------------------------------------------- the pure core

/// What every reading command does with a snapshot, for its namespaces (a few): the
/// odd values a mutation plants (quantities, times, names) are read there.
fn run_core(snapshot: &Snapshot, profile: Option<&Profile>) {
    for namespace in snapshot.namespaces().iter().take(2) {
        let _ = triage::inventory::build(snapshot, namespace, snapshot.captured_at, None);
        let context = Context::new(snapshot, namespace).with_profile(profile);
        let check = triage::check::build(&context, triage::signals::ALL, None);
        let options = triage::repair::RepairOptions {
            now: snapshot.captured_at,
            ..Default::default()
        };
        let _ = triage::repair::plan_repairs(&context, &check.findings, &options, &|_, _| true);
    }
}

// ---------------------------------------------------------------- targets

#[test]
fn fuzz_snapshot_files() {
    fuzz(
        "snapshot files (YAML, JSON)",
        (24, 4),
        snapshot_file(),
        |input| {
            let snapshot = parse_snapshot(&input.bytes, "fuzz");
            if let Ok(snapshot) = &snapshot {
                run_core(snapshot, None);
            }
            (input.bytes.len(), snapshot.is_ok())
        },
    );
}

/// Where each layout puts one object of `kind` in `namespace` (`None`: the layout has
/// no file for it), and its pods' logs.
fn bundle_path(layout: usize, object: &Value) -> Option<String> {
    let kind = object["kind"].as_str()?;
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("");
    let name = object["metadata"]["name"].as_str()?;
    let plural = format!("{}s", kind.to_lowercase());
    Some(match layout {
        0 if namespace.is_empty() => format!("cluster-resources/{plural}.json"),
        0 => format!("cluster-resources/{plural}/{namespace}.json"),
        1 if namespace.is_empty() => "nodes.json".to_string(),
        1 => format!("{namespace}/{plural}.json"),
        _ if namespace.is_empty() => format!("cluster/v1/{kind}/{name}.yaml"),
        _ => format!("namespaces/{namespace}/v1/{kind}/{name}.yaml"),
    })
}

/// A bundle's files, shown by their paths and the mutations made.
#[derive(Clone)]
struct Bundle {
    entries: Vec<Entry>,
    how: String,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let paths: Vec<&str> = self.entries.iter().map(|e| e.path.as_str()).collect();
        write!(f, "{}; files {paths:?}", self.how)
    }
}

/// A bundle of a few fixture objects in one of the three layouts, with logs, its file
/// contents and paths mutated, wrapped in a top folder or not.
fn bundle() -> impl Strategy<Value = Bundle> {
    (
        0..3usize,
        some_objects(),
        proptest::collection::vec((any::<Index>(), mutations(3)), 0..4),
        proptest::collection::vec((any::<Index>(), any::<Index>()), 0..3),
        any::<bool>(),
    )
        .prop_map(|(layout, objects, content_mutations, path_mutations, wrapped)| {
            let mut entries: Vec<Entry> = Vec::new();
            for object in &objects {
                let Some(path) = bundle_path(layout, object) else {
                    continue;
                };
                let bytes = if path.ends_with(".yaml") {
                    serde_saphyr::to_string(object).unwrap().into_bytes()
                } else {
                    serde_json::to_vec(&json!({"kind": "List", "items": [object]})).unwrap()
                };
                entries.push(Entry { path, bytes });
                if object["kind"] == "Pod" {
                    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("x");
                    let pod = object["metadata"]["name"].as_str().unwrap_or("x");
                    let log = "panic: nil map\n==== START logs for container c of pod x/y ====\nline\n==== END logs for container c of pod x/y ====\n";
                    let path = match layout {
                        0 => format!("cluster-resources/pods/logs/{namespace}/{pod}/c-previous.log"),
                        1 => format!("{namespace}/{pod}/logs.txt"),
                        _ => format!("namespaces/{namespace}/v1/Pod/{pod}/c/current.log"),
                    };
                    entries.push(Entry {
                        path,
                        bytes: log.as_bytes().to_vec(),
                    });
                }
            }
            let pool: Vec<&[u8]> = seeds().files.iter().map(Vec::as_slice).collect();
            for (which, m) in &content_mutations {
                if !entries.is_empty() {
                    let i = which.index(entries.len());
                    entries[i].bytes = mutate(std::mem::take(&mut entries[i].bytes), m, &pool);
                }
            }
            const ODD_PATHS: [&str; 10] = [
                "", "/", "//", "..", "secrets/", "-previous.log", "\u{202E}", "cluster-resources/",
                "namespaces/", "/logs.txt",
            ];
            for (which, odd) in &path_mutations {
                if !entries.is_empty() {
                    let i = which.index(entries.len());
                    let at = entries[i].path.char_indices().nth(entries[i].path.chars().count() / 2).map_or(0, |(at, _)| at);
                    entries[i].path.insert_str(at, ODD_PATHS[odd.index(ODD_PATHS.len())]);
                }
            }
            if wrapped {
                for entry in &mut entries {
                    entry.path = format!("support-bundle-2026-11-30/{}", entry.path);
                }
            }
            entries.sort_by(|a, b| a.path.cmp(&b.path));
            Bundle {
                entries,
                how: format!("layout {layout}, content {content_mutations:?}, paths {path_mutations:?}"),
            }
        })
}

fn bundle_bytes(bundle: &Bundle) -> usize {
    bundle.entries.iter().map(|e| e.bytes.len()).sum()
}

#[test]
fn fuzz_bundles() {
    fuzz(
        "bundles (troubleshoot, cluster-info dump, crust-gather)",
        (24, 2),
        bundle(),
        |bundle| {
            let snapshot = bundle::assemble(bundle.entries.clone(), 0, "fuzz");
            if let Ok(snapshot) = &snapshot {
                run_core(snapshot, None);
            }
            (bundle_bytes(bundle), snapshot.is_ok())
        },
    );
}

/// The same bundles as `.tar.gz` archives, the compressed bytes mutated too (a broken
/// gzip stream, a truncated tar header), read from a file as `--snapshot` does.
#[test]
fn fuzz_bundles_as_tar_gz() {
    let dir = std::env::temp_dir().join(format!("triage-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bundle.tar.gz");
    let archives =
        (bundle(), proptest::option::weighted(0.7, mutations(3))).prop_map(|(bundle, m)| {
            let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::fast(),
            ));
            for entry in &bundle.entries {
                let mut header = tar::Header::new_gnu();
                header.set_size(entry.bytes.len() as u64);
                header.set_mode(0o644);
                header.set_entry_type(tar::EntryType::Regular);
                // `append_data` refuses some odd paths (`..`): those files are left out.
                let _ = builder.append_data(&mut header, &entry.path, entry.bytes.as_slice());
            }
            let gz = builder.into_inner().unwrap().finish().unwrap();
            let bytes = match &m {
                Some(m) => mutate(gz, m, &[b"\x1f\x8b\x08\x00", b"ustar\x0000"]),
                None => gz,
            };
            Input {
                bytes,
                how: format!("{bundle:?}; archive mutations {m:?}"),
            }
        });
    fuzz("bundles as .tar.gz", (24, 2), archives, |archive| {
        std::fs::write(&path, &archive.bytes).unwrap();
        let snapshot = bundle::read(&path);
        if let Ok(snapshot) = &snapshot {
            run_core(snapshot, None);
        }
        (archive.bytes.len(), snapshot.is_ok())
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fuzz_profiles() {
    let incident = parse_snapshot(&seeds().files[0], "bleater-incident.yaml").unwrap();
    let profiles = (0..seeds().profiles.len(), mutations(6)).prop_map(|(i, m)| {
        let pool: Vec<&[u8]> = seeds().profiles.iter().map(|p| p.as_bytes()).collect();
        Input {
            bytes: mutate(seeds().profiles[i].clone().into_bytes(), &m, &pool),
            how: format!("profile {i} with {m:?}"),
        }
    });
    fuzz("profiles", (64, 1), profiles, |input| {
        // A profile is a file the user names: UTF-8 is checked before parsing.
        if let Ok(text) = std::str::from_utf8(&input.bytes)
            && let Ok(profile) = Profile::parse(text, "fuzz")
        {
            // What a parsed profile steers: the signals and repairs that read it.
            run_core(&incident, Some(&profile));
            return (input.bytes.len(), true);
        }
        (input.bytes.len(), false)
    });
}

/// Scripts: the fixtures' migration scripts (and their fixed forms), mutated, with
/// shell's own odd spellings planted.
#[test]
fn fuzz_migration_scripts() {
    const SHELL: &[&str] = &[
        "|| true",
        "|| exit 0",
        "|| :",
        "; true",
        "set -e\n",
        "set +e\n",
        "set -euo pipefail\n",
        "set -o errexit\n",
        "psql -v ON_ERROR_STOP=1 ",
        "psql --set=ON_ERROR_STOP=off ",
        "\\\n",
        "'",
        "\"",
        "#",
        "$(",
        "`",
        "<<EOF\n",
        "\nEOF\n",
        "&&",
        "||",
        ";",
        "#!/bin/sh\n",
        "\r\n",
    ];
    let scripts = (
        0..seeds().scripts.len(),
        mutations(6),
        proptest::collection::vec((any::<Index>(), any::<Index>()), 0..6),
    )
        .prop_map(|(i, m, planted)| {
            let pool: Vec<&[u8]> = seeds().scripts.iter().map(|s| s.as_bytes()).collect();
            let mut bytes = mutate(seeds().scripts[i].clone().into_bytes(), &m, &pool);
            for (at, word) in &planted {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, SHELL[word.index(SHELL.len())].bytes());
            }
            // ConfigMap data values are strings: the analyzer only ever sees UTF-8.
            Input {
                bytes: String::from_utf8_lossy(&bytes).into_owned().into_bytes(),
                how: format!("script {i} with {m:?}, planted {planted:?}"),
            }
        });
    fuzz("migration scripts", (256, 1), scripts, |input| {
        let script = std::str::from_utf8(&input.bytes).unwrap();
        let hits = triage::signals::migration_script::analyse(script);
        let fixed = triage::repair::migration_script::fix_script(script);
        let _ = triage::signals::migration_script::analyse(&fixed);
        // "Accepted": the analyzer found a problem to report.
        (input.bytes.len(), !hits.is_empty())
    });
}

/// Inputs of 0.5 to 1 MB, each a shape a reader can be slow on (the budget applies
/// where it matters): every reader timed on its own.
fn large_input() -> impl Strategy<Value = Input> {
    fn repeat(piece: &str, bytes: usize) -> String {
        piece.repeat(bytes / piece.len().max(1) + 1)
    }
    const SHAPES: usize = 15;
    (0..SHAPES, 1usize..3, mutations(3)).prop_map(|(shape, halves, m)| {
        let size = halves * 1024 * 1024 / 2;
        let text = match shape {
            // Four fixtures as one multi-document file.
            0 => [0usize, 2, 4, 8]
                .iter()
                .map(|&i| String::from_utf8_lossy(&seeds().files[i]).into_owned())
                .collect::<Vec<_>>()
                .join("\n---\n"),
            1 => repeat("[", size),
            2 => repeat("- ", size),
            3 => format!(
                "kind: List\nitems:\n{}",
                repeat("- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: n}}\n", size)
            ),
            4 => format!("a: \"{}\"\n", repeat("x", size)),
            5 => format!("a: {}\n", repeat("9", size)),
            6 => repeat("#\n", size),
            // YAML aliases: each level refers to the one before twice (the "billion laughs").
            7 => {
                let mut doc = String::from("a0: &a0 [x, x]\n");
                for level in 1..40 {
                    doc.push_str(&format!("a{level}: &a{level} [*a{}, *a{}]\n", level - 1, level - 1));
                }
                doc
            }
            8 => format!(
                "{{\"kind\":\"List\",\"items\":[{}{{}}]}}",
                repeat(
                    "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"n\"},\"data\":{\"k\":\"v\"}},",
                    size
                )
            ),
            // Scripts: the shapes that were quadratic (regressions below) and others.
            9 => repeat("|| true ", size),
            10 => repeat("a \\\n|| true\n", size),
            11 => repeat("psql ", size),
            12 => (0..size / 12).map(|i| format!("|| exit 0 {i}")).collect(),
            13 => repeat("\n", size),
            _ => repeat("psql \\\n", size),
        };
        let pool: Vec<&[u8]> = seeds().files.iter().map(Vec::as_slice).collect();
        Input {
            bytes: mutate(text.into_bytes(), &m, &pool),
            how: format!("shape {shape}, {halves}/2 MB, {m:?}"),
        }
    })
}

#[test]
fn fuzz_large_snapshot_files() {
    fuzz("large snapshot files", (3, 64), large_input(), |input| {
        let snapshot = parse_snapshot(&input.bytes, "fuzz");
        if let Ok(snapshot) = &snapshot {
            run_core(snapshot, None);
        }
        (input.bytes.len(), snapshot.is_ok())
    });
}

#[test]
fn fuzz_large_profiles() {
    fuzz("large profiles", (3, 64), large_input(), |input| {
        let text = String::from_utf8_lossy(&input.bytes);
        (input.bytes.len(), Profile::parse(&text, "fuzz").is_ok())
    });
}

#[test]
fn fuzz_large_migration_scripts_analysed() {
    fuzz(
        "large migration scripts, analysed",
        (3, 64),
        large_input(),
        |input| {
            let script = String::from_utf8_lossy(&input.bytes);
            let hits = triage::signals::migration_script::analyse(&script);
            (input.bytes.len(), !hits.is_empty())
        },
    );
}

#[test]
fn fuzz_large_migration_scripts_fixed() {
    fuzz(
        "large migration scripts, fixed",
        (3, 64),
        large_input(),
        |input| {
            let script = String::from_utf8_lossy(&input.bytes);
            let fixed = triage::repair::migration_script::fix_script(&script);
            (input.bytes.len(), fixed != script)
        },
    );
}

// ---------------------------------------------------------------- regressions

/// Found while fuzzing, by the 1 s per MB budget: a 1 MB line of `|| true` made one hit per occurrence,
/// each holding a copy of the line (about 130 000 copies of 1 MB). One hit per pattern
/// and line now, and `|| exit 0 <anything>` is one pattern.
#[test]
fn a_line_repeating_a_swallow_is_one_hit_per_pattern() {
    use triage::signals::migration_script::{Problem, analyse};
    let hits = analyse(&"cmd || true ".repeat(50_000));
    let swallowed: Vec<&str> = hits
        .iter()
        .filter(|h| h.problem == Problem::SwallowedError)
        .map(|h| h.pattern.as_str())
        .collect();
    assert_eq!(swallowed, ["|| true"]);
    let line: String = (0..10_000).map(|i| format!("cmd || exit 0 {i} ")).collect();
    let hits = analyse(&format!("set -e\n{line}\nother || true || :\n"));
    let patterns: Vec<(usize, &str)> = hits.iter().map(|h| (h.line, h.pattern.as_str())).collect();
    assert_eq!(patterns, [(2, "|| exit 0"), (3, "|| true"), (3, "|| :")]);
}

/// Found while fuzzing, by the 1 s per MB budget: ending `cmd \` lines whose next line holds only
/// `|| true` removed lines one by one from a vector, and each psql word of a line
/// shifted the rest of it: quadratic in the script. Same output, one pass each.
#[test]
fn fixing_many_continued_swallows_and_psql_words_keeps_every_line() {
    use triage::repair::migration_script::fix_script;
    let fixed = fix_script(&format!("#!/bin/sh\n{}", "a \\\n|| true\n".repeat(3)));
    assert_eq!(fixed, "#!/bin/sh\nset -eu\na\na\na\n");
    let fixed = fix_script("set -euo pipefail\npsql psql /usr/bin/psql -f x.sql\n");
    assert_eq!(
        fixed,
        "set -euo pipefail\npsql -v ON_ERROR_STOP=1 psql -v ON_ERROR_STOP=1 /usr/bin/psql -v ON_ERROR_STOP=1 -f x.sql\n"
    );
    let many = fix_script(&format!("set -e\n{}", "a \\\n|| true\n".repeat(20_000)));
    assert_eq!(many.lines().count(), 20_001);
    assert!(many.lines().skip(1).all(|l| l == "a"));
}

/// Found while fuzzing, by the budget: 40 levels of YAML aliases, each naming the one
/// before twice (900 bytes), took 1.2 to 1.4 s of CPU before the reader refused them.
/// Refused now after 100 000 replayed events (src/snapshot/parse.rs), with one line.
#[test]
fn a_billion_laughs_is_refused_with_one_line() {
    let mut doc = String::from("a0: &a0 [x, x]\n");
    for level in 1..40 {
        doc.push_str(&format!(
            "a{level}: &a{level} [*a{}, *a{}]\n",
            level - 1,
            level - 1
        ));
    }
    let cpu = thread_cpu_time();
    let refused = parse_snapshot(doc.as_bytes(), "laughs.yaml").unwrap_err();
    if let (Some(before), Some(after)) = (cpu, thread_cpu_time()) {
        let _ = writeln!(
            std::io::stderr(),
            "billion laughs refused after {:?} of CPU",
            after - before
        );
    }
    let message = format!("{refused:?}");
    assert!(
        message.contains("laughs.yaml") && message.contains("is not valid YAML"),
        "{message}"
    );
}
