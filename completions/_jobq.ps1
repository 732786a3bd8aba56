
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'jobq' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'jobq'
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
        'jobq' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('enqueue', 'enqueue', [CompletionResultType]::ParameterValue, 'Create jobs exactly as popoto''s create() does')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show the queue at a glance, list jobs, or examine one job')
            [CompletionResult]::new('orphans', 'orphans', [CompletionResultType]::ParameterValue, 'Find jobs and index entries that have drifted apart')
            [CompletionResult]::new('reindex', 'reindex', [CompletionResultType]::ParameterValue, 'Repair what `orphans scan` finds, member by member, while workers run')
            [CompletionResult]::new('reap', 'reap', [CompletionResultType]::ParameterValue, 'Move stale running jobs back to pending (or to failed)')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Move failed (or other) jobs back to pending, popoto-style, filtered')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete jobs by job_id, popoto-style, each record''s before-image audited')
            [CompletionResult]::new('undo', 'undo', [CompletionResultType]::ParameterValue, 'Reverse one run of jobq, each change guarded, from the audit stream')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'The history of what jobq did: runs, one run''s entries, one job''s')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete old completed (or failed) jobs, backed up first, one audit entry per batch')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Re-create the records of a prune''s backup file, byte for byte')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Wait until the queue has no pending and no running jobs')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobq;enqueue' {
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'The job''s project (project_key)')
            [CompletionResult]::new('--message', '--message', [CompletionResultType]::ParameterName, 'The job''s message (message_text)')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'The job''s priority: high, normal or low')
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'The job''s status [default: the model''s pending status]')
            [CompletionResult]::new('--set', '--set', [CompletionResultType]::ParameterName, 'Set any declared field, typed by the schema (repeatable)')
            [CompletionResult]::new('--job-id', '--job-id', [CompletionResultType]::ParameterName, 'Use this job_id instead of a new uuid4 hex (refused if it exists)')
            [CompletionResult]::new('--idempotency-key', '--idempotency-key', [CompletionResultType]::ParameterName, 'Create the job only once for this key; a repeat reports the existing job')
            [CompletionResult]::new('--idempotency-ttl', '--idempotency-ttl', [CompletionResultType]::ParameterName, 'How long an idempotency key is remembered')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read jobs from a JSON Lines file (- for stdin), one object of fields per line')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Jobs per pipelined round trip with --file')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;inspect' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'List jobs with this status')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'List jobs of this project')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many jobs to list with --status or --project [default: 50]')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Redraw the overview every SECONDS until Ctrl-C')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'How to print the overview: a table, or Prometheus text exposition')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--no-discover', '--no-discover', [CompletionResultType]::ParameterName, 'Do not walk the keyspace for status indexes the schema does not list')
            [CompletionResult]::new('--scan', '--scan', [CompletionResultType]::ParameterName, 'With --format prometheus: also run the consistency scan (as `orphans scan` does, read-only) and add its confirmed findings per kind')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;orphans' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Read-only consistency scan: classify every kind of damage')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobq;orphans;scan' {
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'Re-check candidates after this long; only what still holds is reported (0 disables)')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Members per SSCAN/SCAN step')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Findings shown per kind in the table')
            [CompletionResult]::new('--show', '--show', [CompletionResultType]::ParameterName, 'List at most N findings or actions in the report (table and --json), or `all`')
            [CompletionResult]::new('--report-out', '--report-out', [CompletionResultType]::ParameterName, 'Write every finding (orphans scan) or every action and its outcome (reindex) to FILE as JSON Lines, as the run goes')
            [CompletionResult]::new('--plan-out', '--plan-out', [CompletionResultType]::ParameterName, 'Write the repair plan (JSON Lines, mode 0600) for `jobq reindex --plan`, as the scan goes')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--deep', '--deep', [CompletionResultType]::ParameterName, 'Also walk the keyspace (SCAN MATCH <Model>:*) to find records missing from the class set')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;orphans;help' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Read-only consistency scan: classify every kind of damage')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobq;orphans;help;scan' {
            break
        }
        'jobq;orphans;help;help' {
            break
        }
        'jobq;reindex' {
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'Re-check candidates after this long; only what still holds is reported (0 disables)')
            [CompletionResult]::new('--batch', '--batch', [CompletionResultType]::ParameterName, 'Members per SSCAN/SCAN step')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Findings shown per kind in the table')
            [CompletionResult]::new('--show', '--show', [CompletionResultType]::ParameterName, 'List at most N findings or actions in the report (table and --json), or `all`')
            [CompletionResult]::new('--report-out', '--report-out', [CompletionResultType]::ParameterName, 'Write every finding (orphans scan) or every action and its outcome (reindex) to FILE as JSON Lines, as the run goes')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'Apply a plan written by `orphans scan --plan-out` instead of scanning')
            [CompletionResult]::new('--plan-out', '--plan-out', [CompletionResultType]::ParameterName, 'Write the plan (with the policies given) to FILE, for `--plan` later (JSON Lines, mode 0600)')
            [CompletionResult]::new('--prefer', '--prefer', [CompletionResultType]::ParameterName, 'Repair field_mismatch findings, trusting the key or the hash field')
            [CompletionResult]::new('--duplicates', '--duplicates', [CompletionResultType]::ParameterName, 'Repair duplicate findings with this policy')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--deep', '--deep', [CompletionResultType]::ParameterName, 'Also walk the keyspace (SCAN MATCH <Model>:*) to find records missing from the class set')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop (exit 1 when there is something to do)')
            [CompletionResult]::new('--migrate-pointers', '--migrate-pointers', [CompletionResultType]::ParameterName, 'Move popoto 1.8.0-1.8.2 index pointers over to the $IdxPtr key 1.10.1 reads')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;reap' {
            [CompletionResult]::new('--lease', '--lease', [CompletionResultType]::ParameterName, 'A job running longer than this is stale (by --since-field, else since first seen running); under 1m asks unless --yes')
            [CompletionResult]::new('--since-field', '--since-field', [CompletionResultType]::ParameterName, 'Timestamp field saying when the job started running [default: the schema''s since_field]')
            [CompletionResult]::new('--heartbeat-key', '--heartbeat-key', [CompletionResultType]::ParameterName, 'Stale only while this key is absent; {field} is the job''s field, escaped as popoto escapes keys')
            [CompletionResult]::new('--requeue-priority', '--requeue-priority', [CompletionResultType]::ParameterName, 'Priority given to a requeued job (when the model has a priority field)')
            [CompletionResult]::new('--max-attempts', '--max-attempts', [CompletionResultType]::ParameterName, 'After this many reaps a job goes to failed instead of pending')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Sweep every DURATION until Ctrl-C')
            [CompletionResult]::new('--min-interval', '--min-interval', [CompletionResultType]::ParameterName, 'Skip the sweep if one (on any host) finished less than DURATION ago')
            [CompletionResult]::new('--max-jobs', '--max-jobs', [CompletionResultType]::ParameterName, 'Move at most N jobs per sweep, then stop the sweep')
            [CompletionResult]::new('--max-duration', '--max-duration', [CompletionResultType]::ParameterName, 'Stop a sweep after this long (moves already planned are applied)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every running job is stale, whatever the lease (after all workers crashed); asks unless --yes')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'One sweep, then exit (for cron)')
            [CompletionResult]::new('--wait-lock', '--wait-lock', [CompletionResultType]::ParameterName, 'Wait for another reaper''s lock instead of exiting 75')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop (exit 1 when there is something to do)')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;retry' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'The status to retry from [default: the model''s failed status]')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Only jobs of this project')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only jobs older than this, by the since field or the first sorted field')
            [CompletionResult]::new('--newer-than', '--newer-than', [CompletionResultType]::ParameterName, 'Only jobs newer than this, by the since field or the first sorted field')
            [CompletionResult]::new('--match', '--match', [CompletionResultType]::ParameterName, 'Only jobs whose FIELD decodes to exactly VALUE (typed by the schema; repeatable)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Retry at most N jobs')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Give retried jobs this priority (when the model has a priority field)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--include-running', '--include-running', [CompletionResultType]::ParameterName, 'Allow --status running (a worker may still be on those); always asks')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop (exit 1 when there is something to do)')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;delete' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Delete running jobs too (a worker may still be on them)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop (exit 1 when there is something to do)')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;undo' {
            [CompletionResult]::new('--backup', '--backup', [CompletionResultType]::ParameterName, 'Where the run''s backup file is now, when it was moved (prune)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop (exit 1 when there is something to do)')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;audit' {
            [CompletionResult]::new('--job', '--job', [CompletionResultType]::ParameterName, 'Everything done to this job_id, oldest first')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Show at most N runs (or entries) [default: 20 runs, 1000 entries]')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;prune' {
            [CompletionResult]::new('--status', '--status', [CompletionResultType]::ParameterName, 'A status to prune (repeatable) [default: the model''s completed status]')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Only jobs of this project')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only jobs older than this, by the since field or the first sorted field (required unless job_ids are given)')
            [CompletionResult]::new('--newer-than', '--newer-than', [CompletionResultType]::ParameterName, 'Only jobs newer than this, by the since field or the first sorted field')
            [CompletionResult]::new('--match', '--match', [CompletionResultType]::ParameterName, 'Only jobs whose FIELD decodes to exactly VALUE (typed by the schema; repeatable)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Prune at most N jobs')
            [CompletionResult]::new('--backup', '--backup', [CompletionResultType]::ParameterName, 'Write every record pruned to FILE first (JSON Lines, mode 0600; must not exist)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--no-backup', '--no-backup', [CompletionResultType]::ParameterName, 'Keep no backup: pruned jobs cannot be restored')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Allow statuses other than completed and failed (a worker may be on them); always asks')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop (exit 1 when there is something to do)')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;restore' {
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask; apply the plan')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show the plan and stop (exit 1 when there is something to do)')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;drain' {
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Wait only for this project''s jobs')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this long (exit 6)')
            [CompletionResult]::new('--settle', '--settle', [CompletionResultType]::ParameterName, 'Two empty reads this far apart mean drained')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Pending jobs, nothing running and no change for this long: stalled (exit 7)')
            [CompletionResult]::new('--ids', '--ids', [CompletionResultType]::ParameterName, 'Wait for just these jobs: a file of job ids, one per line (- for stdin)')
            [CompletionResult]::new('--gone-means', '--gone-means', [CompletionResultType]::ParameterName, 'What a job with no live record any more means (with --ids)')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--allow-empty', '--allow-empty', [CompletionResultType]::ParameterName, 'Treat a database with no keys of the model as drained')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;generate' {
            [CompletionResult]::new('--out-dir', '--out-dir', [CompletionResultType]::ParameterName, 'Directory to write completions/ and man/ into')
            [CompletionResult]::new('--url', '--url', [CompletionResultType]::ParameterName, 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work')
            [CompletionResult]::new('--read-from', '--read-from', [CompletionResultType]::ParameterName, 'A replica of --url to read from; re-checks and writes stay on --url')
            [CompletionResult]::new('--tls-ca', '--tls-ca', [CompletionResultType]::ParameterName, 'PEM file of CA certificates to trust (with rediss://)')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'PEM file of the client certificate to present (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM file of the client certificate''s private key (with --tls-cert)')
            [CompletionResult]::new('--schema', '--schema', [CompletionResultType]::ParameterName, 'TOML file describing the popoto model [default: RedisJob]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Prefix of jobq''s own keys (audit stream, locks, reaper state)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting to Redis after this long')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for one Redis reply after this long')
            [CompletionResult]::new('--tls-insecure', '--tls-insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s certificate (a test server only)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object on stdout instead of a table')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More detail on stderr (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'jobq;help' {
            [CompletionResult]::new('enqueue', 'enqueue', [CompletionResultType]::ParameterValue, 'Create jobs exactly as popoto''s create() does')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show the queue at a glance, list jobs, or examine one job')
            [CompletionResult]::new('orphans', 'orphans', [CompletionResultType]::ParameterValue, 'Find jobs and index entries that have drifted apart')
            [CompletionResult]::new('reindex', 'reindex', [CompletionResultType]::ParameterValue, 'Repair what `orphans scan` finds, member by member, while workers run')
            [CompletionResult]::new('reap', 'reap', [CompletionResultType]::ParameterValue, 'Move stale running jobs back to pending (or to failed)')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Move failed (or other) jobs back to pending, popoto-style, filtered')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete jobs by job_id, popoto-style, each record''s before-image audited')
            [CompletionResult]::new('undo', 'undo', [CompletionResultType]::ParameterValue, 'Reverse one run of jobq, each change guarded, from the audit stream')
            [CompletionResult]::new('audit', 'audit', [CompletionResultType]::ParameterValue, 'The history of what jobq did: runs, one run''s entries, one job''s')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete old completed (or failed) jobs, backed up first, one audit entry per batch')
            [CompletionResult]::new('restore', 'restore', [CompletionResultType]::ParameterValue, 'Re-create the records of a prune''s backup file, byte for byte')
            [CompletionResult]::new('drain', 'drain', [CompletionResultType]::ParameterValue, 'Wait until the queue has no pending and no running jobs')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'jobq;help;enqueue' {
            break
        }
        'jobq;help;inspect' {
            break
        }
        'jobq;help;orphans' {
            [CompletionResult]::new('scan', 'scan', [CompletionResultType]::ParameterValue, 'Read-only consistency scan: classify every kind of damage')
            break
        }
        'jobq;help;orphans;scan' {
            break
        }
        'jobq;help;reindex' {
            break
        }
        'jobq;help;reap' {
            break
        }
        'jobq;help;retry' {
            break
        }
        'jobq;help;delete' {
            break
        }
        'jobq;help;undo' {
            break
        }
        'jobq;help;audit' {
            break
        }
        'jobq;help;prune' {
            break
        }
        'jobq;help;restore' {
            break
        }
        'jobq;help;drain' {
            break
        }
        'jobq;help;generate' {
            break
        }
        'jobq;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
