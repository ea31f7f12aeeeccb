/*
 * options.c - the option loop of the reading verbs (query, tail, stats,
 * report): getopt_long over argv, each option to the handler the verb's
 * table names for it, the filter options to cli_filter_apply (filters.c),
 * and the one message for an option nobody knows; and the checks of a
 * number or a time given to an option, with the message when it is not.
 *
 * Must never: know any verb's options, or print anything but usage errors.
 */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "filters.h"
#include "options.h"
#include "timefmt.h"

static const struct cli_option_handler *
find_handler(const struct cli_option_table *table, int option)
{
	for (size_t i = 0; i < table->handler_count; i++)
		if (table->handlers[i].option == option)
			return &table->handlers[i];
	return NULL;
}

int
cli_options_parse(const struct cli_option_table *table, int argc, char **argv,
		  void *verb_options, struct query_request *filters)
{
	const struct cli_option_handler *handler;
	int option, rc = 0;

	optind = 0;
	opterr = 0;
	while (rc == 0 && (option = getopt_long(argc, argv,
						 table->short_options,
						 table->long_options,
						 NULL)) != -1) {
		handler = find_handler(table, option);
		if (handler != NULL) {
			rc = handler->handle(verb_options, optarg);
			continue;
		}
		rc = filters != NULL ?
		     cli_filter_apply(table->verb, option, optarg, filters) : 0;
		if (rc == 1)
			rc = 0;
		else if (rc == 0)
			rc = cli_bad_option(table->verb, option, argv);
	}
	return rc;
}

int
cli_option_number(const char *verb, const char *option, const char *text,
		  long long min, long long *out)
{
	char *end;
	long long value;

	errno = 0;
	value = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min)
		return cli_usage_error(verb, "--%s needs a whole number of at "
				       "least %lld, not '%s'", option, min, text);
	*out = value;
	return 0;
}

int
cli_option_time(const char *verb, const char *option, const char *text,
		int64_t *out)
{
	const char *why = NULL;

	if (cli_time_parse(text, cli_now_ns(), out, &why) < 0)
		return cli_usage_error(verb, "--%s '%s': %s", option, text, why);
	return 0;
}
