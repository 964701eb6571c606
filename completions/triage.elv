
use builtin;
use str;

set edit:completion:arg-completer[triage] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'triage'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'triage'= {
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand inventory 'Show everything in the namespace that matters during an incident'
            cand check 'Evaluate every health signal: what is failing, the evidence, the fix, and why each app shows what it shows (exit 1 when any signal fails)'
            cand plan 'Order the repairs: the dependency graph between failing signals and the steps it implies (-o table|json|yaml|mermaid|dot); one namespace at a time (no -A)'
            cand repair 'Repair the failing signals in cascade order: each step previewed, confirmed, checked by the server (permissions, dry run), backed up, applied and verified; one namespace at a time (no -A)'
            cand restore 'Put back the objects a repair run backed up, each previewed as a diff, confirmed, checked by the server and audited like a repair step (never overwrites an existing object unless --overwrite)'
            cand snapshot 'Write a live snapshot of the namespace (Secrets left out) for offline use, with the failing containers'' last log lines as `kind: ContainerLog` items'
            cand db 'Read the database itself: what the schema really is, not what a ConfigMap says'
            cand explain-traffic 'Why can (or can''t) FROM reach TO: each side''s NetworkPolicies (egress of the source, ingress of the destination), the verdict, the smallest allow policy (printed, never applied); exit 1 unless allowed'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'triage;inventory'= {
            cand --snapshot 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster'
            cand --now 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]'
            cand --logs 'Last lines of each failing container''s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none'
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand -A 'Every namespace (kubectl''s -A): one cluster-wide LIST per kind, or every namespace of a snapshot file; one row per namespace. Reads no container logs (`-n NAMESPACE` shows them)'
            cand --all-namespaces 'Every namespace (kubectl''s -A): one cluster-wide LIST per kind, or every namespace of a snapshot file; one row per namespace. Reads no container logs (`-n NAMESPACE` shows them)'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;check'= {
            cand --snapshot 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster'
            cand --now 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]'
            cand --profile 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]'
            cand --logs 'Last lines of each failing container''s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none'
            cand --only 'Run only these signals (comma separated ids)'
            cand --skip 'Skip these signals (comma separated ids)'
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand -w 'Live only: after printing, wait for a change in the namespace (a Kubernetes watch, debounced), evaluate again and redraw, until no signal fails (exit 0) or ^C'
            cand --watch 'Live only: after printing, wait for a change in the namespace (a Kubernetes watch, debounced), evaluate again and redraw, until no signal fails (exit 0) or ^C'
            cand -A 'Every namespace (kubectl''s -A), worst first: failing signals, the top root cause, object counts; one cluster-wide LIST per kind, or every namespace of a snapshot file. A profile applies to the namespace it names. Reads no container logs (`-n NAMESPACE` shows them)'
            cand --all-namespaces 'Every namespace (kubectl''s -A), worst first: failing signals, the top root cause, object counts; one cluster-wide LIST per kind, or every namespace of a snapshot file. A profile applies to the namespace it names. Reads no container logs (`-n NAMESPACE` shows them)'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;plan'= {
            cand --snapshot 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster'
            cand --now 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]'
            cand --profile 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]'
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;repair'= {
            cand --profile 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]'
            cand --snapshot 'With --dry-run: preview every step from a snapshot file, offline (not checked by a server); refused without --dry-run'
            cand --db-url 'postgres://USER[:PASSWORD]@HOST:PORT/DATABASE; without a password in it, PGPASSWORD is used [default: a port-forward through the API server to the pod behind the profile''s database Service, as the profile''s user and database]'
            cand --password-from-secret 'Take the password from this Secret''s `password` key in the namespace (read only when asked; never printed)'
            cand --only 'Repair only these signals (comma separated ids)'
            cand --skip 'Do not repair these signals (comma separated ids)'
            cand --set 'Quota limit to set instead of the proposal, e.g. `--set pods=8` (repeatable)'
            cand --storage-class 'StorageClass for a re-created claim [default: the cluster''s default class]'
            cand --reason 'Words for audit values, e.g. the lock''s `resolved-<date>-<reason>`'
            cand --wait 'After the repairs, watch the profile''s status ConfigMap this long for every app to read Healthy (its reconciler takes a tick or two): `90s`, `2m`, `0` to skip'
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --yes 'Answer yes to every prompt (for scripts); without a terminal it is required'
            cand --dry-run 'Preview every step and run only reads and server-side dry runs: nothing is changed'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;restore'= {
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --yes 'Answer yes to every prompt'
            cand --overwrite 'Replace objects that exist now with their backed-up version'
            cand --dry-run 'Preview and run the server-side dry runs only; change nothing'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;snapshot'= {
            cand --logs 'Last lines of each failing container''s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none'
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;db'= {
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand tables 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'triage;db;tables'= {
            cand --db-url 'postgres://USER[:PASSWORD]@HOST:PORT/DATABASE; without a password in it, PGPASSWORD is used [default: a port-forward through the API server to the pod behind the profile''s database Service, as the profile''s user and database]'
            cand --password-from-secret 'Take the password from this Secret''s `password` key in the namespace (read only when asked; never printed)'
            cand --profile 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]'
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;db;help'= {
            cand tables 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'triage;db;help;tables'= {
        }
        &'triage;db;help;help'= {
        }
        &'triage;explain-traffic'= {
            cand --snapshot 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster'
            cand --now 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]'
            cand --profile 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]'
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;completions'= {
            cand -n 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --namespace 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]'
            cand --context 'Kubeconfig context to use [default: current-context]'
            cand --kubeconfig 'Path to the kubeconfig file'
            cand --as 'User to impersonate for the operation'
            cand --as-group 'Group to impersonate (repeat for several)'
            cand --request-timeout 'How long to wait for the server: `30s`, `2m`, `0` for no limit'
            cand -o 'Output format'
            cand --output 'Output format'
            cand --no-color 'Never colour the output (also: the NO_COLOR environment variable)'
            cand -v 'More log detail on stderr (-v, -vv)'
            cand --verbose 'More log detail on stderr (-v, -vv)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'triage;help'= {
            cand inventory 'Show everything in the namespace that matters during an incident'
            cand check 'Evaluate every health signal: what is failing, the evidence, the fix, and why each app shows what it shows (exit 1 when any signal fails)'
            cand plan 'Order the repairs: the dependency graph between failing signals and the steps it implies (-o table|json|yaml|mermaid|dot); one namespace at a time (no -A)'
            cand repair 'Repair the failing signals in cascade order: each step previewed, confirmed, checked by the server (permissions, dry run), backed up, applied and verified; one namespace at a time (no -A)'
            cand restore 'Put back the objects a repair run backed up, each previewed as a diff, confirmed, checked by the server and audited like a repair step (never overwrites an existing object unless --overwrite)'
            cand snapshot 'Write a live snapshot of the namespace (Secrets left out) for offline use, with the failing containers'' last log lines as `kind: ContainerLog` items'
            cand db 'Read the database itself: what the schema really is, not what a ConfigMap says'
            cand explain-traffic 'Why can (or can''t) FROM reach TO: each side''s NetworkPolicies (egress of the source, ingress of the destination), the verdict, the smallest allow policy (printed, never applied); exit 1 unless allowed'
            cand completions 'Print shell completions'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'triage;help;inventory'= {
        }
        &'triage;help;check'= {
        }
        &'triage;help;plan'= {
        }
        &'triage;help;repair'= {
        }
        &'triage;help;restore'= {
        }
        &'triage;help;snapshot'= {
        }
        &'triage;help;db'= {
            cand tables 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)'
        }
        &'triage;help;db;tables'= {
        }
        &'triage;help;explain-traffic'= {
        }
        &'triage;help;completions'= {
        }
        &'triage;help;help'= {
        }
    ]
    $completions[$command]
}
