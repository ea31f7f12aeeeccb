# flush = batch (group commit, at most batch_delay_ms): records the store
# has answered with survive the collector's SIGKILL; the collector killed
# while a program writes loses nothing and stores nothing twice.
. "$(dirname "$0")/lib.sh"
FLUSH=batch
. "$(dirname "$0")/flush_levels.inc"
pass
