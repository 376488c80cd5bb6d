// SPDX-License-Identifier: GPL-2.0
/*
 * tug [global options] <noun> <verb> [options]
 *
 * Fault verbs come from the family table (engine/registry.c); everything else from
 * the command table below. Built twice: tug, the node controller (TUG_NODE),
 * hands what it does not carry (the orchestrator, the PostgreSQL faults) and
 * the full help to tug-full, the executable beside it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "fault.h"
#include "log.h"
#include "selfpath.h"
#include "version.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv, bool json);
	const char *summary;
};

static const struct command commands[] = {
	{ "doctor", cmd_doctor, "what this kernel offers and which backend each fault uses" },
	{ "status", cmd_status, "list live faults with their remaining time and counters" },
	{ "revert", cmd_revert, "end a live fault now: tug revert ID | --all" },
	{ "recover", cmd_recover, "undo what crashed controllers left behind" },
#ifndef TUG_NODE
	{ "run", cmd_run, "run an experiment file across nodes: faults, probes, verdicts, results" },
	{ "schedule", cmd_schedule, "run an experiment weekly, monthly, quarterly: install | list | remove" },
	{ "lab", cmd_lab, "a local federation in network namespaces: up | down | status" },
#endif
	{ "watch", cmd_watch, "OOM kills, process exits and execs as the kernel sees them" },
	{},
};

static void list_actions(FILE *out, const char *family)
{
	for (const struct action *a = action_table; a->family; a++)
		if (!strcmp(a->family, family))
			fprintf(out, "  tug %s %-10s %s\n", family, a->verb, a->summary);
}

static void usage(FILE *out)
{
	const char *family = NULL;

	fprintf(out,
		"usage: tug [-v] [--json] <command> [options]\n"
		"\n"
		"Precise faults that revert themselves: at their deadline, on Ctrl-C, when\n"
		"tug crashes, and when the orchestrator that asked for them goes silent.\n"
		"\n"
		"Faults:\n");
	for (const struct fault_ops *const *o = fault_table; *o; o++) {
		char name[64];

		if (!family || strcmp(family, (*o)->family))
			family = (*o)->family;
		snprintf(name, sizeof(name), "%s %s", (*o)->family, (*o)->verb);
		fprintf(out, "  %-18s %s\n", name, (*o)->summary);
	}
	fprintf(out, "\nActions (one-shot, nothing held):\n");
	for (const struct action *a = action_table; a->family; a++) {
		char name[64];

		snprintf(name, sizeof(name), "%s %s", a->family, a->verb);
		fprintf(out, "  %-18s %s\n", name, a->summary);
	}
	fprintf(out, "\nCommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-18s %s\n", c->name, c->summary);
	fprintf(out,
		"\nGlobal options:\n"
		"  -v, --verbose      debug output, libbpf's included\n"
		"  --json             one JSON object per line on stdout\n"
		"  -h, --help         this text; 'tug <noun> <verb> --help' for one command\n"
		"  --version          the release, the commit built and the libbpf in use\n"
		"\nExit status: 0 done, 1 the fault or check failed, 2 the command was wrong.\n");
}

/* The node controller passes the whole command line on to tug-full; it
 * returns only when that cannot run (-errno), so the caller says why. */
static int exec_full(char **argv)
{
#ifdef TUG_NODE
	char path[PATH_MAX];
	int err = self_sibling("tug-full", path, sizeof(path));

	if (err)
		return err;
	fflush(NULL);
	execv(path, argv);
	return -errno;
#else
	(void)argv;
	return -ENOENT;
#endif
}

/* A fault's process ends without the libraries' destructors: they only
 * free what the kernel frees anyway (a dozen of them, libnl's caches), and
 * running them first faults their code in, 0.3 ms of a 1 ms fault here.
 * Under a sanitizer they run, for its leak check. */
static _Noreturn void fast_exit(int status)
{
	fflush(NULL);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	exit(status);
#else
	_exit(status);
#endif
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{},
	};
	bool json = false, family_known = false;
	const char *noun;
	int opt;

	log_stamp("main");
	/* '+': stop at the first non-option, the command's options are its own. */
	while ((opt = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'v':
			log_max_level = LOG_DEBUG;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			exec_full(argv);
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("tug %s%s%s (libbpf %u.%u)\n", TUG_VERSION, *TUG_COMMIT ? " " : "",
			       TUG_COMMIT, libbpf_major_version(), libbpf_minor_version());
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	log_setup_libbpf();
	noun = argv[optind];
	if (!strcmp(noun, "help")) {
		exec_full(argv);
		usage(stdout);
		return EXIT_SUCCESS;
	}
	for (const struct command *c = commands; c->name; c++)
		if (!strcmp(c->name, noun))
			return c->fn(argc - optind, argv + optind, json);

	for (const struct fault_ops *const *o = fault_table; *o; o++)
		family_known |= !strcmp((*o)->family, noun);
	for (const struct action *a = action_table; a->family; a++)
		family_known |= !strcmp(a->family, noun);
	if (family_known) {
		const char *verb = optind + 1 < argc ? argv[optind + 1] : NULL;
		const struct fault_ops *ops = verb ? fault_find(noun, verb) : NULL;
		const struct action *act = action_find(noun, verb);

		if (act) {
			/* getopt names the command in its own messages by argv[0]. */
			static char prog[64];

			snprintf(prog, sizeof(prog), "tug %s %s", act->family, act->verb);
			argv[optind + 1] = prog;
			return act->fn(argc - optind - 1, argv + optind + 1, json);
		}
		if (ops)
			fast_exit(fault_run(ops, argc - optind - 1, argv + optind + 1, json));
		if (verb && (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help"))) {
			for (const struct fault_ops *const *o = fault_table; *o; o++)
				if (!strcmp((*o)->family, noun))
					printf("  tug %s %-10s %s\n", noun, (*o)->verb, (*o)->summary);
			list_actions(stdout, noun);
			return EXIT_SUCCESS;
		}
		exec_full(argv);
		log_error("'%s %s': unknown; the %s verbs are:", noun, verb ? verb : "", noun);
		for (const struct fault_ops *const *o = fault_table; *o; o++)
			if (!strcmp((*o)->family, noun))
				fprintf(stderr, "  tug %s %-10s %s\n", noun, (*o)->verb, (*o)->summary);
		list_actions(stderr, noun);
		return 2;
	}
#ifdef TUG_NODE
	/* tug-full is what carries run, schedule, lab and the pg faults. */
	log_errno(exec_full(argv), "'%s': not a command of this node controller, and tug-full, which "
		  "carries the orchestrator and the PostgreSQL faults, cannot run from beside it",
		  noun);
	return 2;
#endif
	log_error("unknown command '%s'; 'tug --help' lists them", noun);
	return 2;
}
