# flush = every-record (SQLite synchronous = FULL, a commit per record):
# records the store has answered with survive the collector's SIGKILL; the
# collector killed while a program writes loses nothing and stores nothing
# twice.
. "$(dirname "$0")/lib.sh"
FLUSH=every-record
. "$(dirname "$0")/flush_levels.inc"
pass
