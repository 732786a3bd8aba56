# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_jobq_global_optspecs
    string join \n url= read-from= tls-ca= tls-cert= tls-key= tls-insecure schema= namespace= json color= q/quiet v/verbose connect-timeout= response-timeout= h/help V/version
end

function __fish_jobq_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_jobq_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_jobq_using_subcommand
    set -l cmd (__fish_jobq_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c jobq -n "__fish_jobq_needs_command" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_needs_command" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_needs_command" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_needs_command" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_needs_command" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_needs_command" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_needs_command" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_needs_command" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_needs_command" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_needs_command" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_needs_command" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_needs_command" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_needs_command" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_needs_command" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "enqueue" -d 'Create jobs exactly as popoto\'s create() does'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "inspect" -d 'Show the queue at a glance, list jobs, or examine one job'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "orphans" -d 'Find jobs and index entries that have drifted apart'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "reindex" -d 'Repair what `orphans scan` finds, member by member, while workers run'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "reap" -d 'Move stale running jobs back to pending (or to failed)'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "retry" -d 'Move failed (or other) jobs back to pending, popoto-style, filtered'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "delete" -d 'Delete jobs by job_id, popoto-style, each record\'s before-image audited'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "undo" -d 'Reverse one run of jobq, each change guarded, from the audit stream'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "audit" -d 'The history of what jobq did: runs, one run\'s entries, one job\'s'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "prune" -d 'Delete old completed (or failed) jobs, backed up first, one audit entry per batch'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "restore" -d 'Re-create the records of a prune\'s backup file, byte for byte'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "drain" -d 'Wait until the queue has no pending and no running jobs'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "generate" -d 'Write shell completions and man pages (for packagers)'
complete -c jobq -n "__fish_jobq_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l project -d 'The job\'s project (project_key)' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l message -d 'The job\'s message (message_text)' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l priority -d 'The job\'s priority: high, normal or low' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l status -d 'The job\'s status [default: the model\'s pending status]' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l set -d 'Set any declared field, typed by the schema (repeatable)' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l job-id -d 'Use this job_id instead of a new uuid4 hex (refused if it exists)' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l idempotency-key -d 'Create the job only once for this key; a repeat reports the existing job' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l idempotency-ttl -d 'How long an idempotency key is remembered' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l file -d 'Read jobs from a JSON Lines file (- for stdin), one object of fields per line' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l batch -d 'Jobs per pipelined round trip with --file' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand enqueue" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l status -d 'List jobs with this status' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l project -d 'List jobs of this project' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l limit -d 'How many jobs to list with --status or --project [default: 50]' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l watch -d 'Redraw the overview every SECONDS until Ctrl-C' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l format -d 'How to print the overview: a table, or Prometheus text exposition' -r -f -a "table\t'The overview table (or JSON with --json)'
prometheus\t'Prometheus text exposition format (version 0.0.4)'"
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l no-discover -d 'Do not walk the keyspace for status indexes the schema does not list'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l scan -d 'With --format prometheus: also run the consistency scan (as `orphans scan` does, read-only) and add its confirmed findings per kind'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -f -a "scan" -d 'Read-only consistency scan: classify every kind of damage'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and not __fish_seen_subcommand_from scan help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l grace -d 'Re-check candidates after this long; only what still holds is reported (0 disables)' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l batch -d 'Members per SSCAN/SCAN step' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l limit -d 'Findings shown per kind in the table' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l show -d 'List at most N findings or actions in the report (table and --json), or `all`' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l report-out -d 'Write every finding (orphans scan) or every action and its outcome (reindex) to FILE as JSON Lines, as the run goes' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l plan-out -d 'Write the repair plan (JSON Lines, mode 0600) for `jobq reindex --plan`, as the scan goes' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l deep -d 'Also walk the keyspace (SCAN MATCH <Model>:*) to find records missing from the class set'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from scan" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from help" -f -a "scan" -d 'Read-only consistency scan: classify every kind of damage'
complete -c jobq -n "__fish_jobq_using_subcommand orphans; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l grace -d 'Re-check candidates after this long; only what still holds is reported (0 disables)' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l batch -d 'Members per SSCAN/SCAN step' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l limit -d 'Findings shown per kind in the table' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l show -d 'List at most N findings or actions in the report (table and --json), or `all`' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l report-out -d 'Write every finding (orphans scan) or every action and its outcome (reindex) to FILE as JSON Lines, as the run goes' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l plan -d 'Apply a plan written by `orphans scan --plan-out` instead of scanning' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l plan-out -d 'Write the plan (with the policies given) to FILE, for `--plan` later (JSON Lines, mode 0600)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l prefer -d 'Repair field_mismatch findings, trusting the key or the hash field' -r -f -a "key\t'Trust the key: rewrite the hash\'s status field from the key'
field\t'Trust the hash field: move the record to the key its field names'"
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l duplicates -d 'Repair duplicate findings with this policy' -r -f -a "keep-latest\t'Keep the record furthest along (pending < running < completed/failed)'"
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l deep -d 'Also walk the keyspace (SCAN MATCH <Model>:*) to find records missing from the class set'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -s y -l yes -d 'Do not ask; apply the plan'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l dry-run -d 'Show the plan and stop (exit 1 when there is something to do)'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l migrate-pointers -d 'Move popoto 1.8.0-1.8.2 index pointers over to the $IdxPtr key 1.10.1 reads'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand reindex" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l lease -d 'A job running longer than this is stale (by --since-field, else since first seen running); under 1m asks unless --yes' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l since-field -d 'Timestamp field saying when the job started running [default: the schema\'s since_field]' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l heartbeat-key -d 'Stale only while this key is absent; {field} is the job\'s field, escaped as popoto escapes keys' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l requeue-priority -d 'Priority given to a requeued job (when the model has a priority field)' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l max-attempts -d 'After this many reaps a job goes to failed instead of pending' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l interval -d 'Sweep every DURATION until Ctrl-C' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l min-interval -d 'Skip the sweep if one (on any host) finished less than DURATION ago' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l max-jobs -d 'Move at most N jobs per sweep, then stop the sweep' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l max-duration -d 'Stop a sweep after this long (moves already planned are applied)' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l all -d 'Every running job is stale, whatever the lease (after all workers crashed); asks unless --yes'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l once -d 'One sweep, then exit (for cron)'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l wait-lock -d 'Wait for another reaper\'s lock instead of exiting 75'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -s y -l yes -d 'Do not ask; apply the plan'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l dry-run -d 'Show the plan and stop (exit 1 when there is something to do)'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand reap" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l status -d 'The status to retry from [default: the model\'s failed status]' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l project -d 'Only jobs of this project' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l older-than -d 'Only jobs older than this, by the since field or the first sorted field' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l newer-than -d 'Only jobs newer than this, by the since field or the first sorted field' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l match -d 'Only jobs whose FIELD decodes to exactly VALUE (typed by the schema; repeatable)' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l limit -d 'Retry at most N jobs' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l priority -d 'Give retried jobs this priority (when the model has a priority field)' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l include-running -d 'Allow --status running (a worker may still be on those); always asks'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s y -l yes -d 'Do not ask; apply the plan'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l dry-run -d 'Show the plan and stop (exit 1 when there is something to do)'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand retry" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l force -d 'Delete running jobs too (a worker may still be on them)'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -s y -l yes -d 'Do not ask; apply the plan'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l dry-run -d 'Show the plan and stop (exit 1 when there is something to do)'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand delete" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l backup -d 'Where the run\'s backup file is now, when it was moved (prune)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand undo" -s y -l yes -d 'Do not ask; apply the plan'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l dry-run -d 'Show the plan and stop (exit 1 when there is something to do)'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand undo" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l job -d 'Everything done to this job_id, oldest first' -r
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l limit -d 'Show at most N runs (or entries) [default: 20 runs, 1000 entries]' -r
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand audit" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand audit" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand audit" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand audit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand audit" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l status -d 'A status to prune (repeatable) [default: the model\'s completed status]' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l project -d 'Only jobs of this project' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l older-than -d 'Only jobs older than this, by the since field or the first sorted field (required unless job_ids are given)' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l newer-than -d 'Only jobs newer than this, by the since field or the first sorted field' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l match -d 'Only jobs whose FIELD decodes to exactly VALUE (typed by the schema; repeatable)' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l limit -d 'Prune at most N jobs' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l backup -d 'Write every record pruned to FILE first (JSON Lines, mode 0600; must not exist)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l no-backup -d 'Keep no backup: pruned jobs cannot be restored'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l force -d 'Allow statuses other than completed and failed (a worker may be on them); always asks'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -s y -l yes -d 'Do not ask; apply the plan'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l dry-run -d 'Show the plan and stop (exit 1 when there is something to do)'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand prune" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand restore" -s y -l yes -d 'Do not ask; apply the plan'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l dry-run -d 'Show the plan and stop (exit 1 when there is something to do)'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand restore" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l project -d 'Wait only for this project\'s jobs' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l timeout -d 'Give up after this long (exit 6)' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l settle -d 'Two empty reads this far apart mean drained' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l stall-timeout -d 'Pending jobs, nothing running and no change for this long: stalled (exit 7)' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l ids -d 'Wait for just these jobs: a file of job ids, one per line (- for stdin)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l gone-means -d 'What a job with no live record any more means (with --ids)' -r -f -a "unknown\t'The job\'s outcome is unknown (exit 9)'
completed\t'The application deletes finished jobs: count it completed'"
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l allow-empty -d 'Treat a database with no keys of the model as drained'
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand drain" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand drain" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand drain" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand drain" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand drain" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l out-dir -d 'Directory to write completions/ and man/ into' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l url -d 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work' -r
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l read-from -d 'A replica of --url to read from; re-checks and writes stay on --url' -r
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l tls-ca -d 'PEM file of CA certificates to trust (with rediss://)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l tls-cert -d 'PEM file of the client certificate to present (with --tls-key)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l tls-key -d 'PEM file of the client certificate\'s private key (with --tls-cert)' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l schema -d 'TOML file describing the popoto model [default: RedisJob]' -r -F
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l namespace -d 'Prefix of jobq\'s own keys (audit stream, locks, reaper state)' -r
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l color -d 'When to use colour (NO_COLOR is honoured with auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l connect-timeout -d 'Give up connecting to Redis after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l response-timeout -d 'Give up waiting for one Redis reply after this long' -r
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l tls-insecure -d 'Do not verify the server\'s certificate (a test server only)'
complete -c jobq -n "__fish_jobq_using_subcommand generate" -l json -d 'Print one JSON object on stdout instead of a table'
complete -c jobq -n "__fish_jobq_using_subcommand generate" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c jobq -n "__fish_jobq_using_subcommand generate" -s v -l verbose -d 'More detail on stderr (repeat for more)'
complete -c jobq -n "__fish_jobq_using_subcommand generate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c jobq -n "__fish_jobq_using_subcommand generate" -s V -l version -d 'Print version'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "enqueue" -d 'Create jobs exactly as popoto\'s create() does'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "inspect" -d 'Show the queue at a glance, list jobs, or examine one job'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "orphans" -d 'Find jobs and index entries that have drifted apart'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "reindex" -d 'Repair what `orphans scan` finds, member by member, while workers run'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "reap" -d 'Move stale running jobs back to pending (or to failed)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "retry" -d 'Move failed (or other) jobs back to pending, popoto-style, filtered'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "delete" -d 'Delete jobs by job_id, popoto-style, each record\'s before-image audited'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "undo" -d 'Reverse one run of jobq, each change guarded, from the audit stream'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "audit" -d 'The history of what jobq did: runs, one run\'s entries, one job\'s'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "prune" -d 'Delete old completed (or failed) jobs, backed up first, one audit entry per batch'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "restore" -d 'Re-create the records of a prune\'s backup file, byte for byte'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "drain" -d 'Wait until the queue has no pending and no running jobs'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "generate" -d 'Write shell completions and man pages (for packagers)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and not __fish_seen_subcommand_from enqueue inspect orphans reindex reap retry delete undo audit prune restore drain generate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c jobq -n "__fish_jobq_using_subcommand help; and __fish_seen_subcommand_from orphans" -f -a "scan" -d 'Read-only consistency scan: classify every kind of damage'
