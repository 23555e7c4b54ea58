/* Campaigns: fork the workers, collect their results, write the JSONL and CSV files and the
 * summary; `./vmm --inject` runs a campaign of one. */
#include "campaign.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "campaign_plan.h"
#include "campaign_worker.h"
#include "gdb.h"
#include "status.h"

static const char *const camp_outcomes[OUT_COUNT] = {
    "benign", "sdc", "detected", "crash", "hang", "vmm-error",
};

const char *campaign_outcome_name(enum campaign_outcome o)
{
	return (unsigned)o < OUT_COUNT ? camp_outcomes[o] : "?";
}

/* Worker j of o->jobs: build, golden, then every experiment of this shard with local index
 * % jobs == j, each result written to fd as one fixed-size record. Returns the exit status. */
static int camp_worker(const struct campaign_opts *o, unsigned j, int fd)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct campaign_result res;
	struct inject_spec spec;
	char msg[256] = "";
	uint64_t local = 0;
	int status;
	struct run r;

	if (!w)
		return PW_STATUS_INTERNAL;
	status = worker_init(w, o, msg, sizeof(msg));
	if (!status)
		status = worker_golden(w, o, msg, sizeof(msg));
	if (status) {
		fprintf(stderr, "vmm: campaign: %s\n", msg);
		worker_free(w);
		free(w);
		return status;
	}
	if (j == 0)
		fprintf(stderr,
			"vmm: golden run: %s, exit code %" PRId64 ", %" PRIu64 " exits, %" PRIu64
			" hypercalls, %" PRIu64 " instructions, output hash %016" PRIx64
			", %.3f ms CPU; hang budget %.3g ms CPU after the injection or %" PRIu64
			" exits\n",
			run_stop_name(w->golden.stop), w->golden.exit_code, w->golden.nexits,
			w->golden.hypercalls, w->golden.insns, w->golden.hash,
			(double)w->golden.cpu_ns / 1e6, w->budget_cpu_s * 1e3, w->budget_exits);
	for (uint64_t i = 0; i < o->runs; i++) {
		if (!campaign_in_shard(o, i) || local++ % o->jobs != j)
			continue;
		campaign_plan(w, o, i, &spec);
		memset(&res, 0, sizeof(res));
		res.index = i;
		inject_format(&spec, res.spec, sizeof(res.spec));
		if (worker_run(w, &spec, false, &res, &r) < 0) {
			/* The VM could not be reset: say so for this experiment, and run no more on
			 * a VM in an unknown state (the rest of this worker's share is missing from
			 * the results, which the parent reports). */
			res.model = (uint8_t)spec.model;
			res.outcome = OUT_VMM_ERROR;
			status = PW_STATUS_INTERNAL;
			fprintf(stderr,
				"vmm: campaign: worker %u: experiment %" PRIu64
				": reset failed: %s; this worker stops\n",
				j, i, res.detail);
		} else {
			run_free(&r);
		}
		if (write(fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
			status = PW_STATUS_INTERNAL;
		if (status)
			break;
	}
	if (w->reruns)
		fprintf(stderr,
			"vmm: campaign: worker %u: %" PRIu64 " runs made again after single steps left "
			"the golden run (docs/platforms.md)\n",
			j, w->reruns);
	worker_free(w);
	free(w);
	return status;
}

static FILE *camp_open(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fprintf(stderr, "vmm: campaign: %s: %s\n", path, strerror(errno));
	return f;
}

/* Read records from fd until every worker closed it; results[i] keeps experiment i. */
static uint64_t camp_collect(const struct campaign_opts *o, int fd, struct campaign_result *results,
			     bool *have, uint64_t total)
{
	struct campaign_result rec;
	uint64_t got = 0, t0 = campaign_now_ns();
	ssize_t k;

	while ((k = read(fd, &rec, sizeof(rec))) == (ssize_t)sizeof(rec)) {
		if (rec.index < o->runs && !have[rec.index]) {
			results[rec.index] = rec, have[rec.index] = true, got++;
		}
		if (o->progress && (got % 64 == 0 || got == total)) {
			double s = (double)(campaign_now_ns() - t0) / 1e9;

			fprintf(stderr, "\rvmm: %" PRIu64 "/%" PRIu64 " experiments, %.0f/s   ",
				got, total, s > 0 ? (double)got / s : 0.0);
		}
	}
	if (o->progress)
		fputc('\n', stderr);
	return got;
}

int campaign_main(const struct campaign_opts *o)
{
	uint64_t total = 0, counts[INJ_MODEL_COUNT][OUT_COUNT] = {{0}};
	struct campaign_result *results = calloc(o->runs ? o->runs : 1, sizeof(*results));
	bool *have = calloc(o->runs ? o->runs : 1, 1);
	FILE *out = NULL, *csv = NULL;
	int p[2], status = 0, ws;
	pid_t pid[64];
	unsigned started = 0;

	if (!results || !have || pipe(p) < 0) {
		fprintf(stderr, "vmm: campaign: out of memory\n");
		free(results), free(have);
		return PW_STATUS_INTERNAL;
	}
	if ((o->out && !(out = camp_open(o->out))) || (o->csv && !(csv = camp_open(o->csv))))
		status = PW_STATUS_USAGE;
	for (uint64_t i = 0; i < o->runs; i++)
		total += campaign_in_shard(o, i);
	fflush(NULL);
	/* Fork before any VM exists: a VM does not survive fork, each worker builds its own. */
	for (unsigned j = 0; !status && j < o->jobs; j++) {
		pid[j] = fork();
		if (pid[j] == 0) {
			close(p[0]);
			_exit(camp_worker(o, j, p[1]));
		}
		if (pid[j] < 0) {
			fprintf(stderr, "vmm: campaign: fork: %s\n", strerror(errno));
			status = PW_STATUS_INTERNAL;
			break;
		}
		started++;
	}
	close(p[1]);
	uint64_t got = camp_collect(o, p[0], results, have, total);
	close(p[0]);
	for (unsigned j = 0; j < started; j++) {
		if (waitpid(pid[j], &ws, 0) < 0 || (WIFEXITED(ws) && WEXITSTATUS(ws) == 0))
			continue;
		if (WIFSIGNALED(ws))
			fprintf(stderr, "vmm: campaign: worker %u killed by signal %d%s\n", j,
				WTERMSIG(ws),
				WTERMSIG(ws) == SIGSYS ? " (a syscall outside the sandbox)" : "");
		else
			fprintf(stderr, "vmm: campaign: worker %u stopped with status %d\n", j,
				WEXITSTATUS(ws));
		if (!status)
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : PW_STATUS_INTERNAL;
	}
	if (csv)
		campaign_write_csv_header(csv);
	for (uint64_t i = 0; i < o->runs; i++) {
		if (!have[i])
			continue;
		counts[results[i].model % INJ_MODEL_COUNT][results[i].outcome % OUT_COUNT]++;
		if (out)
			campaign_write_jsonl(out, &results[i], o);
		if (csv)
			campaign_write_csv(csv, &results[i]);
	}
	if (got)
		campaign_print_summary(stdout, counts);
	if (got != total) {
		fprintf(stderr, "vmm: campaign: %" PRIu64 " of %" PRIu64 " experiments missing\n",
			total - got, total);
		if (!status)
			status = PW_STATUS_INTERNAL;
	}
	if (out)
		fclose(out);
	if (csv)
		fclose(csv);
	free(results), free(have);
	return status;
}

int campaign_inject_one(const struct campaign_opts *o)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct campaign_result res = {0};
	struct inject_spec spec;
	char msg[256] = "";
	struct campaign_opts one = *o;
	int status;
	struct run r;

	if (!w)
		return PW_STATUS_INTERNAL;
	if (inject_parse(o->spec, &spec, msg, sizeof(msg))) {
		fprintf(stderr, "vmm: --inject: %s\n", msg);
		free(w);
		return PW_STATUS_USAGE;
	}
	if (spec.cpu >= (o->ncpus > 1 ? o->ncpus : 1)) {
		fprintf(stderr, "vmm: --inject: '%s' names vCPU %u, but the guest has %u (--cpus)\n",
			o->spec, spec.cpu, o->ncpus > 1 ? o->ncpus : 1);
		free(w);
		return PW_STATUS_USAGE;
	}
	one.models = 1u << spec.model; /* what the worker must prepare for (skip: capstone) */
	status = worker_init(w, &one, msg, sizeof(msg));
	if (!status)
		status = worker_golden(w, &one, msg, sizeof(msg));
	if (status) {
		fprintf(stderr, "vmm: --inject: %s\n", msg);
	} else if (worker_run(w, &spec, false, &res, &r) < 0) {
		fprintf(stderr, "vmm: --inject: %s\n", res.detail);
		status = PW_STATUS_INTERNAL;
	} else {
		if (o->gdb)
			gdb_finish(o->gdb, &r);
		inject_format(&spec, res.spec, sizeof(res.spec));
		campaign_write_jsonl(stdout, &res, o);
		status = res.outcome == OUT_VMM_ERROR ? PW_STATUS_INTERNAL : run_status(&r);
		run_free(&r);
	}
	worker_free(w);
	free(w);
	return status;
}
