
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'triage' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'triage'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'triage' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('inventory', 'inventory', [CompletionResultType]::ParameterValue, 'Show everything in the namespace that matters during an incident')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate every health signal: what is failing, the evidence, the fix, and why each app shows what it shows (exit 1 when any signal fails)')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Order the repairs: the dependency graph between failing signals and the steps it implies (-o table|json|yaml|mermaid|dot); one namespace at a time (no -A)')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Repair the failing signals in cascade order: each step previewed, confirmed, checked by the server (permissions, dry run), backed up, applied and verified; one namespace at a time (no -A)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put back the objects a repair run backed up, each previewed as a diff, confirmed, checked by the server and audited like a repair step (never overwrites an existing object unless --overwrite)')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Write a live snapshot of the namespace (Secrets left out) for offline use, with the failing containers'' last log lines as `kind: ContainerLog` items')
            [CompletionResult]::new('db', 'db', [CompletionResultType]::ParameterValue, 'Read the database itself: what the schema really is, not what a ConfigMap says')
            [CompletionResult]::new('explain-traffic', 'explain-traffic', [CompletionResultType]::ParameterValue, 'Why can (or can''t) FROM reach TO: each side''s NetworkPolicies (egress of the source, ingress of the destination), the verdict, the smallest allow policy (printed, never applied); exit 1 unless allowed')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'triage;inventory' {
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Last lines of each failing container''s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Every namespace (kubectl''s -A): one cluster-wide LIST per kind, or every namespace of a snapshot file; one row per namespace. Reads no container logs (`-n NAMESPACE` shows them)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Every namespace (kubectl''s -A): one cluster-wide LIST per kind, or every namespace of a snapshot file; one row per namespace. Reads no container logs (`-n NAMESPACE` shows them)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;check' {
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Last lines of each failing container''s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Run only these signals (comma separated ids)')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Skip these signals (comma separated ids)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Live only: after printing, wait for a change in the namespace (a Kubernetes watch, debounced), evaluate again and redraw, until no signal fails (exit 0) or ^C')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Live only: after printing, wait for a change in the namespace (a Kubernetes watch, debounced), evaluate again and redraw, until no signal fails (exit 0) or ^C')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Every namespace (kubectl''s -A), worst first: failing signals, the top root cause, object counts; one cluster-wide LIST per kind, or every namespace of a snapshot file. A profile applies to the namespace it names. Reads no container logs (`-n NAMESPACE` shows them)')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Every namespace (kubectl''s -A), worst first: failing signals, the top root cause, object counts; one cluster-wide LIST per kind, or every namespace of a snapshot file. A profile applies to the namespace it names. Reads no container logs (`-n NAMESPACE` shows them)')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;plan' {
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;repair' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]')
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'With --dry-run: preview every step from a snapshot file, offline (not checked by a server); refused without --dry-run')
            [CompletionResult]::new('--db-url', '--db-url', [CompletionResultType]::ParameterName, 'postgres://USER[:PASSWORD]@HOST:PORT/DATABASE; without a password in it, PGPASSWORD is used [default: a port-forward through the API server to the pod behind the profile''s database Service, as the profile''s user and database]')
            [CompletionResult]::new('--password-from-secret', '--password-from-secret', [CompletionResultType]::ParameterName, 'Take the password from this Secret''s `password` key in the namespace (read only when asked; never printed)')
            [CompletionResult]::new('--only', '--only', [CompletionResultType]::ParameterName, 'Repair only these signals (comma separated ids)')
            [CompletionResult]::new('--skip', '--skip', [CompletionResultType]::ParameterName, 'Do not repair these signals (comma separated ids)')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Quota limit to set instead of the proposal, e.g. `--set pods=8` (repeatable)')
            [CompletionResult]::new('--storage-class', '--storage-class', [CompletionResultType]::ParameterName, 'StorageClass for a re-created claim [default: the cluster''s default class]')
            [CompletionResult]::new('--reason', '--reason', [CompletionResultType]::ParameterName, 'Words for audit values, e.g. the lock''s `resolved-<date>-<reason>`')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'After the repairs, watch the profile''s status ConfigMap this long for every app to read Healthy (its reconciler takes a tick or two): `90s`, `2m`, `0` to skip')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to every prompt (for scripts); without a terminal it is required')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Preview every step and run only reads and server-side dry runs: nothing is changed')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;restore' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to every prompt')
            [CompletionResult]::new('--overwrite', '--overwrite', [CompletionResultType]::ParameterName, 'Replace objects that exist now with their backed-up version')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Preview and run the server-side dry runs only; change nothing')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;snapshot' {
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Last lines of each failing container''s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;db' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('tables', 'tables', [CompletionResultType]::ParameterValue, 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'triage;db;tables' {
            [CompletionResult]::new('--db-url', '--db-url', [CompletionResultType]::ParameterName, 'postgres://USER[:PASSWORD]@HOST:PORT/DATABASE; without a password in it, PGPASSWORD is used [default: a port-forward through the API server to the pod behind the profile''s database Service, as the profile''s user and database]')
            [CompletionResult]::new('--password-from-secret', '--password-from-secret', [CompletionResultType]::ParameterName, 'Take the password from this Secret''s `password` key in the namespace (read only when asked; never printed)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;db;help' {
            [CompletionResult]::new('tables', 'tables', [CompletionResultType]::ParameterValue, 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'triage;db;help;tables' {
            break
        }
        'triage;db;help;help' {
            break
        }
        'triage;explain-traffic' {
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Profile YAML naming the status, lock and schema ConfigMaps, the migration''s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;completions' {
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace to look at [default: the kubeconfig context''s namespace, or the only namespace in a snapshot file]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Kubeconfig context to use [default: current-context]')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate for the operation')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeat for several)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'How long to wait for the server: `30s`, `2m`, `0` for no limit')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--no-color', '--no-color', [CompletionResultType]::ParameterName, 'Never colour the output (also: the NO_COLOR environment variable)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v, -vv)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'triage;help' {
            [CompletionResult]::new('inventory', 'inventory', [CompletionResultType]::ParameterValue, 'Show everything in the namespace that matters during an incident')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Evaluate every health signal: what is failing, the evidence, the fix, and why each app shows what it shows (exit 1 when any signal fails)')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Order the repairs: the dependency graph between failing signals and the steps it implies (-o table|json|yaml|mermaid|dot); one namespace at a time (no -A)')
            [CompletionResult]::new('repair', 'repair', [CompletionResultType]::ParameterValue, 'Repair the failing signals in cascade order: each step previewed, confirmed, checked by the server (permissions, dry run), backed up, applied and verified; one namespace at a time (no -A)')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Put back the objects a repair run backed up, each previewed as a diff, confirmed, checked by the server and audited like a repair step (never overwrites an existing object unless --overwrite)')
            [CompletionResult]::new('snapshot', 'snapshot', [CompletionResultType]::ParameterValue, 'Write a live snapshot of the namespace (Secrets left out) for offline use, with the failing containers'' last log lines as `kind: ContainerLog` items')
            [CompletionResult]::new('db', 'db', [CompletionResultType]::ParameterValue, 'Read the database itself: what the schema really is, not what a ConfigMap says')
            [CompletionResult]::new('explain-traffic', 'explain-traffic', [CompletionResultType]::ParameterValue, 'Why can (or can''t) FROM reach TO: each side''s NetworkPolicies (egress of the source, ingress of the destination), the verdict, the smallest allow policy (printed, never applied); exit 1 unless allowed')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'triage;help;inventory' {
            break
        }
        'triage;help;check' {
            break
        }
        'triage;help;plan' {
            break
        }
        'triage;help;repair' {
            break
        }
        'triage;help;restore' {
            break
        }
        'triage;help;snapshot' {
            break
        }
        'triage;help;db' {
            [CompletionResult]::new('tables', 'tables', [CompletionResultType]::ParameterValue, 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)')
            break
        }
        'triage;help;db;tables' {
            break
        }
        'triage;help;explain-traffic' {
            break
        }
        'triage;help;completions' {
            break
        }
        'triage;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
