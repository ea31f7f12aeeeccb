/*
 * options.h - the option loop the reading verbs share (options.c): each
 * verb lists its options once, as a const table of {option, handler}, and
 * cli_options_parse runs getopt_long over argv and calls the handlers.
 */
#ifndef PHITRAIL_OPTIONS_H
#define PHITRAIL_OPTIONS_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "query.h"

/* A handler's answer after printing --help: the verb exits 0. */
#define CLI_OPTIONS_HELP (-1)

/*
 * One option of a verb: its getopt_long value, and what it does with the
 * option's argument (NULL for an option without one) in the verb's own
 * options struct. Returns 0, CLI_OPTIONS_HELP, or an exit status after a
 * message (cli_usage_error).
 */
struct cli_option_handler {
	int option;
	int (*handle)(void *verb_options, const char *arg);
};

/* A verb's options: what getopt_long is given and the handlers. */
struct cli_option_table {
	const char *verb;                   /* for messages: "query" */
	const char *short_options;          /* getopt_long's, ":c:h" */
	const struct option *long_options;
	const struct cli_option_handler *handlers;
	size_t handler_count;
};

/*
 * Runs getopt_long over argv from its start (options may follow other
 * arguments; getopt's own messages off) and hands each option to its
 * handler. An option without a handler is given to cli_filter_apply when
 * filters is not NULL (the verb takes the filter options), and is
 * otherwise a usage error. Stops at the first handler that does not
 * return 0 and returns what it returned; 0 when every option was applied.
 * optind is left at the first argument that is not an option.
 */
int cli_options_parse(const struct cli_option_table *table, int argc,
		      char **argv, void *verb_options,
		      struct query_request *filters);

/*
 * The whole number text for --option (a verb's option or a filter), at
 * least min, into *out; else a usage error of verb (message printed).
 */
int cli_option_number(const char *verb, const char *option, const char *text,
		      long long min, long long *out);

/*
 * The time text for --option (every form cli_time_parse reads) into
 * *out; else a usage error of verb that says why.
 */
int cli_option_time(const char *verb, const char *option, const char *text,
		    int64_t *out);

#endif
