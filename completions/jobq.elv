
use builtin;
use str;

set edit:completion:arg-completer[jobq] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'jobq'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'jobq'= {
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand enqueue 'Create jobs exactly as popoto''s create() does'
            cand inspect 'Show the queue at a glance, list jobs, or examine one job'
            cand orphans 'Find jobs and index entries that have drifted apart'
            cand reindex 'Repair what `orphans scan` finds, member by member, while workers run'
            cand reap 'Move stale running jobs back to pending (or to failed)'
            cand delete 'Delete jobs by job_id, popoto-style, each record''s before-image audited'
            cand drain 'Wait until the queue has no pending and no running jobs'
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobq;enqueue'= {
            cand --project 'The job''s project (project_key)'
            cand --message 'The job''s message (message_text)'
            cand --priority 'The job''s priority: high, normal or low'
            cand --status 'The job''s status [default: the model''s pending status]'
            cand --set 'Set any declared field, typed by the schema (repeatable)'
            cand --job-id 'Use this job_id instead of a new uuid4 hex (refused if it exists)'
            cand --idempotency-key 'Create the job only once for this key; a repeat reports the existing job'
            cand --idempotency-ttl 'How long an idempotency key is remembered'
            cand --file 'Read jobs from a JSON Lines file (- for stdin), one object of fields per line'
            cand --batch 'Jobs per pipelined round trip with --file'
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;inspect'= {
            cand --status 'List jobs with this status'
            cand --project 'List jobs of this project'
            cand --limit 'How many jobs to list with --status or --project [default: 50]'
            cand --watch 'Redraw the overview every SECONDS until Ctrl-C'
            cand --format 'How to print the overview: a table, or Prometheus text exposition'
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --no-discover 'Do not walk the keyspace for status indexes the schema does not list'
            cand --scan 'With --format prometheus: also run the consistency scan (as `orphans scan` does, read-only) and add its confirmed findings per kind'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;orphans'= {
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand scan 'Read-only consistency scan: classify every kind of damage'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobq;orphans;scan'= {
            cand --grace 'Re-check candidates after this long; only what still holds is reported (0 disables)'
            cand --batch 'Members per SSCAN/SCAN step'
            cand --limit 'Findings shown per kind in the table'
            cand --plan-out 'Write the repair plan (JSON) for `jobq reindex --plan`'
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --deep 'Also walk the keyspace (SCAN MATCH <Model>:*) to find records missing from the class set'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;orphans;help'= {
            cand scan 'Read-only consistency scan: classify every kind of damage'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobq;orphans;help;scan'= {
        }
        &'jobq;orphans;help;help'= {
        }
        &'jobq;reindex'= {
            cand --grace 'Re-check candidates after this long; only what still holds is reported (0 disables)'
            cand --batch 'Members per SSCAN/SCAN step'
            cand --limit 'Findings shown per kind in the table'
            cand --plan 'Apply a plan written by `orphans scan --plan-out` instead of scanning'
            cand --plan-out 'Write the plan (with the policies given) to FILE, for `--plan` later'
            cand --prefer 'Repair field_mismatch findings, trusting the key or the hash field'
            cand --duplicates 'Repair duplicate findings with this policy'
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --deep 'Also walk the keyspace (SCAN MATCH <Model>:*) to find records missing from the class set'
            cand -y 'Do not ask; apply the plan'
            cand --yes 'Do not ask; apply the plan'
            cand --dry-run 'Show the plan and stop (exit 1 when there is something to do)'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;reap'= {
            cand --lease 'A job running longer than this is stale (by --since-field, else since first seen running); under 1m asks unless --yes'
            cand --since-field 'Timestamp field saying when the job started running [default: the schema''s since_field]'
            cand --heartbeat-key 'Stale only while this key is absent; {field} is the job''s field, escaped as popoto escapes keys'
            cand --requeue-priority 'Priority given to a requeued job (when the model has a priority field)'
            cand --max-attempts 'After this many reaps a job goes to failed instead of pending'
            cand --interval 'Sweep every DURATION until Ctrl-C'
            cand --min-interval 'Skip the sweep if one (on any host) finished less than DURATION ago'
            cand --max-jobs 'Move at most N jobs per sweep, then stop the sweep'
            cand --max-duration 'Stop a sweep after this long (moves already planned are applied)'
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --all 'Every running job is stale, whatever the lease (after all workers crashed); asks unless --yes'
            cand --once 'One sweep, then exit (for cron)'
            cand --wait-lock 'Wait for another reaper''s lock instead of exiting 75'
            cand -y 'Do not ask; apply the plan'
            cand --yes 'Do not ask; apply the plan'
            cand --dry-run 'Show the plan and stop (exit 1 when there is something to do)'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;delete'= {
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --force 'Delete running jobs too (a worker may still be on them)'
            cand -y 'Do not ask; apply the plan'
            cand --yes 'Do not ask; apply the plan'
            cand --dry-run 'Show the plan and stop (exit 1 when there is something to do)'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;drain'= {
            cand --project 'Wait only for this project''s jobs'
            cand --timeout 'Give up after this long (exit 6)'
            cand --settle 'Two empty reads this far apart mean drained'
            cand --stall-timeout 'Pending jobs, nothing running and no change for this long: stalled (exit 7)'
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --allow-empty 'Treat a database with no keys of the model as drained'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;generate'= {
            cand --out-dir 'Directory to write completions/ and man/ into'
            cand --url 'Redis URL (redis://, rediss:// for TLS, unix://); user:password work'
            cand --tls-ca 'PEM file of CA certificates to trust (with rediss://)'
            cand --tls-cert 'PEM file of the client certificate to present (with --tls-key)'
            cand --tls-key 'PEM file of the client certificate''s private key (with --tls-cert)'
            cand --schema 'TOML file describing the popoto model [default: RedisJob]'
            cand --namespace 'Prefix of jobq''s own keys (audit stream, locks, reaper state)'
            cand --color 'When to use colour (NO_COLOR is honoured with auto)'
            cand --connect-timeout 'Give up connecting to Redis after this long'
            cand --response-timeout 'Give up waiting for one Redis reply after this long'
            cand --tls-insecure 'Do not verify the server''s certificate (a test server only)'
            cand --json 'Print one JSON object on stdout instead of a table'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -v 'More detail on stderr (repeat for more)'
            cand --verbose 'More detail on stderr (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'jobq;help'= {
            cand enqueue 'Create jobs exactly as popoto''s create() does'
            cand inspect 'Show the queue at a glance, list jobs, or examine one job'
            cand orphans 'Find jobs and index entries that have drifted apart'
            cand reindex 'Repair what `orphans scan` finds, member by member, while workers run'
            cand reap 'Move stale running jobs back to pending (or to failed)'
            cand delete 'Delete jobs by job_id, popoto-style, each record''s before-image audited'
            cand drain 'Wait until the queue has no pending and no running jobs'
            cand generate 'Write shell completions and man pages (for packagers)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'jobq;help;enqueue'= {
        }
        &'jobq;help;inspect'= {
        }
        &'jobq;help;orphans'= {
            cand scan 'Read-only consistency scan: classify every kind of damage'
        }
        &'jobq;help;orphans;scan'= {
        }
        &'jobq;help;reindex'= {
        }
        &'jobq;help;reap'= {
        }
        &'jobq;help;delete'= {
        }
        &'jobq;help;drain'= {
        }
        &'jobq;help;generate'= {
        }
        &'jobq;help;help'= {
        }
    ]
    $completions[$command]
}
