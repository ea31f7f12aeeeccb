/*
 * cli.h - what the verbs of the phitrail command share (cli.c), and the
 * verbs themselves (one file each; the table is in main.c).
 */
#ifndef PHITRAIL_CLI_H
#define PHITRAIL_CLI_H

#include <stdint.h>

#include "config.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

/* A verb: argv[0] is the verb's name; returns the exit status. */
int cli_run_main(int argc, char **argv);
int cli_query_main(int argc, char **argv);
int cli_tail_main(int argc, char **argv);
int cli_policy_main(int argc, char **argv);
int cli_verify_main(int argc, char **argv);
int cli_prove_main(int argc, char **argv);
int cli_checkpoint_main(int argc, char **argv);
int cli_export_main(int argc, char **argv);
int cli_stats_main(int argc, char **argv);
int cli_report_main(int argc, char **argv);
int cli_status_main(int argc, char **argv);

/*
 * Prints "phitrail VERB: message" and "Try 'phitrail VERB --help'." on
 * stderr; returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *verb, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* The message for an unknown option or a missing argument after getopt. */
int cli_bad_option(const char *verb, int option, char **argv);

/*
 * Loads the configuration for a verb that only needs its settings (the
 * query socket): explicit_path, else $PHITRAIL_CONFIG, else the default
 * file; when none was asked for and the default file is missing, the
 * built-in defaults. A file with errors is used with a warning. Returns 0,
 * or CLI_EXIT_FAILURE after saying why on stderr. cfg is allocated
 * (free it).
 */
int cli_config_for_settings(const char *explicit_path, struct config **cfg);

/* Nanoseconds since the epoch, UTC. */
int64_t cli_now_ns(void);

#endif
