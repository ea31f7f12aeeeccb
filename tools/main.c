/*
 * main.c - the phitrail command: one const table of verbs, each with its
 * handler and one line of help, and the dispatch from argv[1] to it.
 *
 *   phitrail run [--config FILE] [--] CMD [ARGS...]
 *   phitrail query [FILTERS] [--count] [--format table|json|csv|msgpack]
 *   phitrail tail [FILTERS] [--format table|json|csv|msgpack]
 *   phitrail stats [--by actor|patient|event|exe|hour|day] [FILTERS]
 *   phitrail report patient ID | actor USER | unusual [--format F]
 *   phitrail policy check [FILE] | policy explain PATH...
 *   phitrail verify [--db FILE] [--key PUBFILE] [--since-checkpoint FILE]
 *   phitrail prove ID | checkpoint | export --since T --until T --output FILE
 *   phitrail status [--format table|json]
 *
 * Must never: do a verb's work itself. Exit status: 0 ok, 1 failure,
 * 2 usage (run: the program's own status).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int help_main(int argc, char **argv);

static const struct cli_verb {
	const char *name;
	int (*handler)(int argc, char **argv);
	const char *help;
} verbs[] = {
	{ "run", cli_run_main, "run a program with its PHI accesses audited" },
	{ "query", cli_query_main, "print the audit records that match filters" },
	{ "tail", cli_tail_main, "print the newest records, then follow new ones" },
	{ "stats", cli_stats_main, "count matching records by actor, patient, event, program, hour or day" },
	{ "report", cli_report_main, "reports: a patient's accesses, a user's activity, unusual access" },
	{ "policy", cli_policy_main, "check a configuration, or explain which rule audits a path" },
	{ "verify", cli_verify_main, "check the store (or a proof or export) against its signed checkpoints" },
	{ "prove", cli_prove_main, "print an inclusion proof of one record" },
	{ "checkpoint", cli_checkpoint_main, "print the newest signed checkpoint, to keep elsewhere" },
	{ "export", cli_export_main, "write a period's records with the proof they are complete and unchanged" },
	{ "status", cli_status_main, "how the collector is doing; exit 1 when something needs attention" },
	{ "help", help_main, "this list; 'phitrail VERB --help' for one verb" },
};
#define VERB_COUNT (sizeof(verbs) / sizeof(verbs[0]))

static void
print_verbs(FILE *stream)
{
	fprintf(stream, "usage: phitrail VERB [OPTIONS] [ARGS...]\n\n");
	for (size_t i = 0; i < VERB_COUNT; i++)
		fprintf(stream, "  %-8s %s\n", verbs[i].name, verbs[i].help);
	fprintf(stream, "\n'phitrail VERB --help' says more about VERB.\n");
}

static const struct cli_verb *
find_verb(const char *name)
{
	for (size_t i = 0; i < VERB_COUNT; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static int
help_main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") != 0 &&
	    strcmp(argv[1], "-h") != 0) {
		const struct cli_verb *verb = find_verb(argv[1]);
		char help_option[] = "--help";
		char *help_argv[] = { argv[1], help_option, NULL };

		if (verb == NULL || verb->handler == help_main)
			return cli_usage_error("help", "no verb called '%s'",
					       argv[1]);
		return verb->handler(2, help_argv);
	}
	print_verbs(stdout);
	return CLI_EXIT_OK;
}

int
main(int argc, char **argv)
{
	const struct cli_verb *verb;

	if (argc < 2) {
		print_verbs(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help_main(1, argv + 1);
	verb = find_verb(argv[1]);
	if (verb == NULL) {
		fprintf(stderr, "phitrail: no verb called '%s'; 'phitrail help' "
			"lists them\n", argv[1]);
		return CLI_EXIT_USAGE;
	}
	return verb->handler(argc - 1, argv + 1);
}
