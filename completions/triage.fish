# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_triage_global_optspecs
    string join \n n/namespace= context= kubeconfig= as= as-group= request-timeout= o/output= no-color v/verbose h/help V/version
end

function __fish_triage_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_triage_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_triage_using_subcommand
    set -l cmd (__fish_triage_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c triage -n "__fish_triage_needs_command" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_needs_command" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_needs_command" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_needs_command" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_needs_command" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_needs_command" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_needs_command" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_needs_command" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_needs_command" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_needs_command" -s V -l version -d 'Print version'
complete -c triage -n "__fish_triage_needs_command" -f -a "inventory" -d 'Show everything in the namespace that matters during an incident'
complete -c triage -n "__fish_triage_needs_command" -f -a "check" -d 'Evaluate every health signal: what is failing, the evidence, the fix, and why each app shows what it shows (exit 1 when any signal fails)'
complete -c triage -n "__fish_triage_needs_command" -f -a "plan" -d 'Order the repairs: the dependency graph between failing signals and the steps it implies (-o table|json|yaml|mermaid|dot); one namespace at a time (no -A)'
complete -c triage -n "__fish_triage_needs_command" -f -a "repair" -d 'Repair the failing signals in cascade order: each step previewed, confirmed, checked by the server (permissions, dry run), backed up, applied and verified; one namespace at a time (no -A)'
complete -c triage -n "__fish_triage_needs_command" -f -a "restore" -d 'Put back the objects a repair run backed up, each previewed as a diff, confirmed, checked by the server and audited like a repair step (never overwrites an existing object unless --overwrite)'
complete -c triage -n "__fish_triage_needs_command" -f -a "snapshot" -d 'Write a live snapshot of the namespace (Secrets left out) for offline use, with the failing containers\' last log lines as `kind: ContainerLog` items'
complete -c triage -n "__fish_triage_needs_command" -f -a "db" -d 'Read the database itself: what the schema really is, not what a ConfigMap says'
complete -c triage -n "__fish_triage_needs_command" -f -a "explain-traffic" -d 'Why can (or can\'t) FROM reach TO: each side\'s NetworkPolicies (egress of the source, ingress of the destination), the verdict, the smallest allow policy (printed, never applied); exit 1 unless allowed'
complete -c triage -n "__fish_triage_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c triage -n "__fish_triage_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c triage -n "__fish_triage_using_subcommand inventory" -l snapshot -d 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster' -r -F
complete -c triage -n "__fish_triage_using_subcommand inventory" -l now -d 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand inventory" -l logs -d 'Last lines of each failing container\'s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none' -r
complete -c triage -n "__fish_triage_using_subcommand inventory" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand inventory" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand inventory" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand inventory" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand inventory" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand inventory" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand inventory" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand inventory" -s A -l all-namespaces -d 'Every namespace (kubectl\'s -A): one cluster-wide LIST per kind, or every namespace of a snapshot file; one row per namespace. Reads no container logs (`-n NAMESPACE` shows them)'
complete -c triage -n "__fish_triage_using_subcommand inventory" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand inventory" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand inventory" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand check" -l snapshot -d 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster' -r -F
complete -c triage -n "__fish_triage_using_subcommand check" -l now -d 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand check" -l profile -d 'Profile YAML naming the status, lock and schema ConfigMaps, the migration\'s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]' -r -F
complete -c triage -n "__fish_triage_using_subcommand check" -l logs -d 'Last lines of each failing container\'s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none' -r
complete -c triage -n "__fish_triage_using_subcommand check" -l only -d 'Run only these signals (comma separated ids)' -r
complete -c triage -n "__fish_triage_using_subcommand check" -l skip -d 'Skip these signals (comma separated ids)' -r
complete -c triage -n "__fish_triage_using_subcommand check" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand check" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand check" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand check" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand check" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand check" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand check" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand check" -s w -l watch -d 'Live only: after printing, wait for a change in the namespace (a Kubernetes watch, debounced), evaluate again and redraw, until no signal fails (exit 0) or ^C'
complete -c triage -n "__fish_triage_using_subcommand check" -s A -l all-namespaces -d 'Every namespace (kubectl\'s -A), worst first: failing signals, the top root cause, object counts; one cluster-wide LIST per kind, or every namespace of a snapshot file. A profile applies to the namespace it names. Reads no container logs (`-n NAMESPACE` shows them)'
complete -c triage -n "__fish_triage_using_subcommand check" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand check" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand plan" -l snapshot -d 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster' -r -F
complete -c triage -n "__fish_triage_using_subcommand plan" -l now -d 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand plan" -l profile -d 'Profile YAML naming the status, lock and schema ConfigMaps, the migration\'s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]' -r -F
complete -c triage -n "__fish_triage_using_subcommand plan" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand plan" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand plan" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand plan" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand plan" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand plan" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand plan" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand plan" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand plan" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand repair" -l profile -d 'Profile YAML naming the status, lock and schema ConfigMaps, the migration\'s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]' -r -F
complete -c triage -n "__fish_triage_using_subcommand repair" -l snapshot -d 'With --dry-run: preview every step from a snapshot file, offline (not checked by a server); refused without --dry-run' -r -F
complete -c triage -n "__fish_triage_using_subcommand repair" -l db-url -d 'postgres://USER[:PASSWORD]@HOST:PORT/DATABASE; without a password in it, PGPASSWORD is used [default: a port-forward through the API server to the pod behind the profile\'s database Service, as the profile\'s user and database]' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l password-from-secret -d 'Take the password from this Secret\'s `password` key in the namespace (read only when asked; never printed)' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l only -d 'Repair only these signals (comma separated ids)' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l skip -d 'Do not repair these signals (comma separated ids)' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l set -d 'Quota limit to set instead of the proposal, e.g. `--set pods=8` (repeatable)' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l storage-class -d 'StorageClass for a re-created claim [default: the cluster\'s default class]' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l reason -d 'Words for audit values, e.g. the lock\'s `resolved-<date>-<reason>`' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l wait -d 'After the repairs, watch the profile\'s status ConfigMap this long for every app to read Healthy (its reconciler takes a tick or two): `90s`, `2m`, `0` to skip' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand repair" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand repair" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand repair" -l yes -d 'Answer yes to every prompt (for scripts); without a terminal it is required'
complete -c triage -n "__fish_triage_using_subcommand repair" -l dry-run -d 'Preview every step and run only reads and server-side dry runs: nothing is changed'
complete -c triage -n "__fish_triage_using_subcommand repair" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand repair" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand repair" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand restore" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand restore" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand restore" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand restore" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand restore" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand restore" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand restore" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand restore" -l yes -d 'Answer yes to every prompt'
complete -c triage -n "__fish_triage_using_subcommand restore" -l overwrite -d 'Replace objects that exist now with their backed-up version'
complete -c triage -n "__fish_triage_using_subcommand restore" -l dry-run -d 'Preview and run the server-side dry runs only; change nothing'
complete -c triage -n "__fish_triage_using_subcommand restore" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand restore" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand snapshot" -l logs -d 'Last lines of each failing container\'s log to fetch live (of the instance before the last restart when it restarted, as `kubectl logs --previous`), shown under the findings; from a file, the last N lines kept; `0` for none' -r
complete -c triage -n "__fish_triage_using_subcommand snapshot" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand snapshot" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand snapshot" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand snapshot" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand snapshot" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand snapshot" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand snapshot" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand snapshot" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand snapshot" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand snapshot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -f -a "tables" -d 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)'
complete -c triage -n "__fish_triage_using_subcommand db; and not __fish_seen_subcommand_from tables help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l db-url -d 'postgres://USER[:PASSWORD]@HOST:PORT/DATABASE; without a password in it, PGPASSWORD is used [default: a port-forward through the API server to the pod behind the profile\'s database Service, as the profile\'s user and database]' -r
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l password-from-secret -d 'Take the password from this Secret\'s `password` key in the namespace (read only when asked; never printed)' -r
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l profile -d 'Profile YAML naming the status, lock and schema ConfigMaps, the migration\'s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]' -r -F
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from tables" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "tables" -d 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)'
complete -c triage -n "__fish_triage_using_subcommand db; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l snapshot -d 'Read objects from a file written by `triage snapshot` or `kubectl get -o yaml|json` (`-` for stdin), or from a support bundle (a directory or `.tar.gz`: troubleshoot.sh, `kubectl cluster-info dump --output-directory`, crust-gather), instead of the cluster' -r -F
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l now -d 'The moment ages are computed against [default: now for a live cluster, the newest timestamp in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l profile -d 'Profile YAML naming the status, lock and schema ConfigMaps, the migration\'s ServiceAccount and needs, the database (docs/profile.md) [default: built in for namespace `bleater`, none otherwise]' -r -F
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand explain-traffic" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand completions" -s n -l namespace -d 'Namespace to look at [default: the kubeconfig context\'s namespace, or the only namespace in a snapshot file]' -r
complete -c triage -n "__fish_triage_using_subcommand completions" -l context -d 'Kubeconfig context to use [default: current-context]' -r
complete -c triage -n "__fish_triage_using_subcommand completions" -l kubeconfig -d 'Path to the kubeconfig file' -r -F
complete -c triage -n "__fish_triage_using_subcommand completions" -l as -d 'User to impersonate for the operation' -r
complete -c triage -n "__fish_triage_using_subcommand completions" -l as-group -d 'Group to impersonate (repeat for several)' -r
complete -c triage -n "__fish_triage_using_subcommand completions" -l request-timeout -d 'How long to wait for the server: `30s`, `2m`, `0` for no limit' -r
complete -c triage -n "__fish_triage_using_subcommand completions" -s o -l output -d 'Output format' -r -f -a "table\t'Tables for people'
wide\t'Tables with extra columns'
json\t'JSON with a versioned, documented shape'
yaml\t'YAML with the same shape as JSON'
mermaid\t'Mermaid flowchart (plan only)'
dot\t'Graphviz dot (plan only)'
junit\t'JUnit XML, one test case per signal (check only)'
sarif\t'SARIF 2.1.0, one result per failing signal (check only)'"
complete -c triage -n "__fish_triage_using_subcommand completions" -l no-color -d 'Never colour the output (also: the NO_COLOR environment variable)'
complete -c triage -n "__fish_triage_using_subcommand completions" -s v -l verbose -d 'More log detail on stderr (-v, -vv)'
complete -c triage -n "__fish_triage_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "inventory" -d 'Show everything in the namespace that matters during an incident'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "check" -d 'Evaluate every health signal: what is failing, the evidence, the fix, and why each app shows what it shows (exit 1 when any signal fails)'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "plan" -d 'Order the repairs: the dependency graph between failing signals and the steps it implies (-o table|json|yaml|mermaid|dot); one namespace at a time (no -A)'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "repair" -d 'Repair the failing signals in cascade order: each step previewed, confirmed, checked by the server (permissions, dry run), backed up, applied and verified; one namespace at a time (no -A)'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "restore" -d 'Put back the objects a repair run backed up, each previewed as a diff, confirmed, checked by the server and audited like a repair step (never overwrites an existing object unless --overwrite)'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "snapshot" -d 'Write a live snapshot of the namespace (Secrets left out) for offline use, with the failing containers\' last log lines as `kind: ContainerLog` items'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "db" -d 'Read the database itself: what the schema really is, not what a ConfigMap says'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "explain-traffic" -d 'Why can (or can\'t) FROM reach TO: each side\'s NetworkPolicies (egress of the source, ingress of the destination), the verdict, the smallest allow policy (printed, never applied); exit 1 unless allowed'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "completions" -d 'Print shell completions'
complete -c triage -n "__fish_triage_using_subcommand help; and not __fish_seen_subcommand_from inventory check plan repair restore snapshot db explain-traffic completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c triage -n "__fish_triage_using_subcommand help; and __fish_seen_subcommand_from db" -f -a "tables" -d 'List the user tables PostgreSQL has (pg_tables; schema-qualified unless `public`), the observed schema to compare with the schema ConfigMap (-o table|json|yaml)'
