/* fleet_main.c — `fleet run`, its options, start-up and clean shutdown;
 * dispatch to `fleet chaos` and `fleet worker-proc`.
 *
 * Shutdown (SIGINT, SIGTERM, SIGHUP, `fleet chaos stop`, --duration) runs in
 * order, each step finishing before the next: a database we took down is
 * brought back, the workers are marked stopped, the health endpoints close,
 * the managed processes are stopped and their pid files removed, then every
 * connection and handle closes and the loop ends. A second signal exits at
 * once (the children still die with us: PR_SET_PDEATHSIG). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "pgconn.h"
#include "units.h"

#define FLEET_TICK_MS 250
#define FLEET_SETUP_RETRY_MS 2000
#define FLEET_PICK_TRIES 16

/* ---- helpers shared by the modules ---- */

int64_t fleet_now_ms(const struct fleet *f)
{
	return (int64_t)uv_now(f->loop);
}

int64_t fleet_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fleet_uuid(struct fleet *f, char out[FLEET_UUID_SIZE])
{
	uint64_t a = f->rng.next(f->rng.ctx), b = f->rng.next(f->rng.ctx);

	a = (a & ~0xf000ULL) | 0x4000ULL;			 /* version 4 */
	b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 10 */
	snprintf(out, FLEET_UUID_SIZE, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)((a >> 16) & 0xffff), (unsigned)(a & 0xffff), (unsigned)(b >> 48),
		 (unsigned long long)(b & 0xffffffffffffULL));
}

void fleet_worker_id(const struct fleet *f, int i, char out[FLEET_UUID_SIZE])
{
	snprintf(out, FLEET_UUID_SIZE, "%.24s%012x", f->worker_prefix, (unsigned)i);
}

static void vlog(const char *level, const char *fmt, va_list ap)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s fleet: %s", ts, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void fleet_log(const struct fleet *f, const char *fmt, ...)
{
	va_list ap;

	if (f->o.quiet)
		return;
	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void fleet_warn(const struct fleet *f, const char *fmt, ...)
{
	va_list ap;

	(void)f;
	va_start(ap, fmt);
	vlog("warning: ", fmt, ap);
	va_end(ap);
}

bool fleet_conn_up(const struct pgconn *c)
{
	return c && pgconn_state(c) == PGCONN_CONNECTED;
}

/* Roughly lognormal around mean_ms (sigma 0.5): most calls near the mean,
 * a long tail of slow ones, as real latencies are. */
int64_t fleet_sample_ms(struct fleet *f, int64_t mean_ms)
{
	double z = 0;

	for (int i = 0; i < 4; i++)
		z += ov_rng_unit(&f->rng);
	z = (z - 2.0) * sqrt(3.0);
	double v = (double)mean_ms * exp(0.5 * z - 0.125);
	return v < 1 ? 1 : (int64_t)v;
}

static int queue_workers(const struct fleet *f, int q)
{
	return q < f->o.supervisors ? (f->o.supervisors - q + f->nqueues - 1) / f->nqueues : 0;
}

int fleet_pick_worker(struct fleet *f, int q)
{
	int n = queue_workers(f, q);

	if (!n)
		return -1;
	for (int t = 0; t < FLEET_PICK_TRIES; t++) {
		int i = q + f->nqueues * (int)ov_rng_below(&f->rng, (uint64_t)n);
		if (!f->hb_stopped[i])
			return i;
	}
	int start = (int)ov_rng_below(&f->rng, (uint64_t)n);
	for (int k = 0; k < n; k++) {
		int i = q + f->nqueues * ((start + k) % n);
		if (!f->hb_stopped[i])
			return i;
	}
	return -1;
}

void fleet_hb_recompute(struct fleet *f)
{
	memset(f->hb_stopped, 0, (size_t)f->o.supervisors);
	for (int i = 0; i < f->n_hb_stops; i++) {
		const struct fleet_hb_stop *s = &f->hb_stops[i];
		if (s->worker >= 0)
			f->hb_stopped[s->worker] = 1;
		else
			for (int w = s->queue; w < f->o.supervisors; w += f->nqueues)
				f->hb_stopped[w] = 1;
	}
}

/* ---- options ---- */

enum opt_kind { O_INT, O_DOUBLE, O_RATE, O_DURATION, O_STRING, O_PORT, O_FLAG, O_SEED };

struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t off;
	double min, max;
	const char *help;
};

#define OFF(field) offsetof(struct fleet_opts, field)
static const struct opt_def opts[] = {
    {"--supervisors", O_INT, OFF(supervisors), 1, FLEET_SUPERVISORS_MAX,
     "workflow supervisors (pgflow workers rows) [12]"},
    {"--queues", O_INT, OFF(queues), 1, FLEET_QUEUES_MAX, "queues, one flow each [3]"},
    {"--functions", O_INT, OFF(functions), 1, 3, "functions per queue [2]"},
    {"--rate", O_RATE, OFF(rate), 0, 1e7, "agent task events per second, or max [20]"},
    {"--failure-rate", O_DOUBLE, OFF(failure_rate), 0, 1,
     "probability that an attempt fails (step tasks and agent tasks) [0.1]"},
    {"--runs-per-s", O_DOUBLE, OFF(runs_per_s), 0, 100000, "flow runs started per second [2]"},
    {"--max-attempts", O_INT, OFF(max_attempts), 1, 20, "attempts per task [3]"},
    {"--max-runs", O_INT, OFF(max_runs), 1, 1000000, "runs in flight at once [1000]"},
    {"--http-port", O_PORT, 0, 0, 65535,
     "a health endpoint on 127.0.0.1:PORT (0: any); repeat for more [two, any port]"},
    {"--procs", O_INT, OFF(procs), 0, FLEET_PROCS_MAX, "managed processes [2]"},
    {"--event-conns", O_INT, OFF(event_conns), 1, FLEET_EVENT_CONNS_MAX,
     "connections sending events [1; 2 with --rate max]"},
    {"--batch", O_INT, OFF(batch), 1, 5000, "events per statement at most [250]"},
    {"--heartbeat", O_DURATION, OFF(heartbeat_ms), 100, 3600000, "heartbeat interval [2s]"},
    {"--duration", O_DURATION, OFF(duration_ms), 0, 1e12, "stop after this long [until a signal]"},
    {"--stats", O_DURATION, OFF(stats_ms), 0, 1e9,
     "a stats line this often on stderr [10s; 0 off]"},
    {"--seed", O_SEED, OFF(seed), 0, 0, "seed of the random source [from getrandom]"},
    {"--no-http", O_FLAG, OFF(no_http), 0, 0, "no health endpoint"},
    {"--quiet", O_FLAG, OFF(quiet), 0, 0, "warnings only"},
    {"--conninfo", O_STRING, OFF(conninfo), 0, FLEET_CONNINFO_MAX,
     "libpq conninfo or URI [libpq defaults and PG*]"},
    {"--channel", O_STRING, OFF(channel), 1, FLEET_NAME_MAX,
     "NOTIFY channel of task events [overseer_task_events]"},
    {"--pidfile-dir", O_STRING, OFF(pidfile_dir), 1, FLEET_PATH_MAX,
     "directory of the pid files [a new temporary directory]"},
    {"--control", O_STRING, OFF(control), 1, FLEET_PATH_MAX,
     "control socket [PIDFILE_DIR/control.sock]"},
    {"--write-config", O_STRING, OFF(write_config), 1, FLEET_PATH_MAX,
     "write an overseer config for this fleet when ready"},
    {"--ready-file", O_STRING, OFF(ready_file), 1, FLEET_PATH_MAX,
     "write the status JSON here when ready"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: fleet run [options]        a QuantumFlow-style fleet on PostgreSQL\n"
		     "       fleet chaos KIND [ARGS] --control SOCKET   inject a fault "
		     "(fleet chaos --help)\n"
		     "       fleet worker-proc --pidfile FILE [--name NAME]   a managed process\n\n"
		     "run options:\n");
	for (size_t i = 0; i < OV_ARRAY_LEN(opts); i++)
		fprintf(out, "  %-16s %s\n", opts[i].name, opts[i].help);
}

static void defaults(struct fleet_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->supervisors = 12;
	o->queues = 3;
	o->functions = 2;
	o->rate = 20;
	o->failure_rate = 0.1;
	o->runs_per_s = 2;
	o->max_attempts = 3;
	o->max_runs = 1000;
	o->procs = 2;
	o->batch = 250;
	o->heartbeat_ms = 2000;
	o->stats_ms = 10000;
	snprintf(o->channel, sizeof(o->channel), "%s", FLEET_CHANNEL_DEFAULT);
}

static int set_opt(struct fleet_opts *o, const struct opt_def *d, const char *v, bool *event_conns)
{
	char *p = (char *)o + d->off, *end;
	struct ov_error err = {0};
	double x;
	int64_t ms;

	switch (d->kind) {
	case O_FLAG:
		*(bool *)p = true;
		return 0;
	case O_STRING:
		if (strlen(v) < (size_t)d->min || strlen(v) >= (size_t)d->max)
			break;
		snprintf(p, (size_t)d->max, "%s", v);
		return 0;
	case O_DURATION:
		if (units_parse_duration(v, &ms, &err) < 0 || ms < d->min || ms > d->max)
			break;
		*(int64_t *)p = ms;
		return 0;
	case O_SEED:
		o->seed = strtoull(v, &end, 0);
		o->has_seed = !*end;
		return o->has_seed ? 0 : -EINVAL;
	case O_PORT:
		x = strtod(v, &end);
		if (*end || x < 0 || x > 65535 || x != floor(x) || o->n_http >= FLEET_HTTP_MAX)
			break;
		o->http_port[o->n_http++] = (int)x;
		return 0;
	case O_RATE:
		if (strcmp(v, "max") == 0) {
			o->rate_max = true;
			return 0;
		}
		/* fall through */
	case O_DOUBLE:
	case O_INT:
		x = strtod(v, &end);
		if (*end || !*v || x < d->min || x > d->max || (d->kind == O_INT && x != floor(x)))
			break;
		if (d->kind == O_INT)
			*(int *)p = (int)x;
		else
			*(double *)p = x;
		if (d->off == OFF(event_conns))
			*event_conns = true;
		return 0;
	}
	fprintf(stderr, "fleet: bad value '%s' for %s (%s)\n", v, d->name, d->help);
	return -EINVAL;
}

static int parse(int argc, char **argv, struct fleet_opts *o)
{
	bool event_conns = false;

	defaults(o);
	for (int i = 2; i < argc; i++) {
		const struct opt_def *d = NULL;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 1;
		}
		for (size_t k = 0; k < OV_ARRAY_LEN(opts); k++)
			if (strcmp(argv[i], opts[k].name) == 0)
				d = &opts[k];
		if (!d) {
			fprintf(stderr, "fleet: unknown option '%s' (fleet run --help)\n", argv[i]);
			return -EINVAL;
		}
		if (d->kind != O_FLAG && i + 1 >= argc) {
			fprintf(stderr, "fleet: %s needs a value\n", d->name);
			return -EINVAL;
		}
		if (set_opt(o, d, d->kind == O_FLAG ? NULL : argv[++i], &event_conns) < 0)
			return -EINVAL;
	}
	if (o->no_http)
		o->n_http = 0;
	else if (!o->n_http)
		o->n_http = 2; /* ports 0: any free port */
	if (!event_conns && o->rate_max)
		o->event_conns = 2;
	if (!o->event_conns)
		o->event_conns = 1;
	return 0;
}

/* ---- run ---- */

static void step_close(struct fleet *f)
{
	fleet_log(f, "closing connections");
	if (f->ctl_conn)
		pgconn_close(f->ctl_conn, NULL);
	if (f->flow_conn)
		pgconn_close(f->flow_conn, NULL);
	for (int i = 0; i < f->n_ev_conns; i++)
		if (f->ev_conn[i])
			pgconn_close(f->ev_conn[i], NULL);
	f->ctl_conn = f->flow_conn = NULL;
	f->n_ev_conns = 0;
	fleet_workers_close(f);
	fleet_flow_close(f);
	fleet_events_close(f);
	fleet_deps_close(f);
	fleet_procs_close(f);
	fleet_pgctl_close(f);
	fleet_ctl_close(f);
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_close((uv_handle_t *)&f->sigint, NULL);
	uv_close((uv_handle_t *)&f->sigterm, NULL);
	uv_close((uv_handle_t *)&f->sighup, NULL);
	uv_close((uv_handle_t *)&f->setup_retry, NULL);
}

static void step_procs(struct fleet *f)
{
	fleet_procs_stop(f, step_close);
}

static void step_http(struct fleet *f)
{
	fleet_http_close(f, step_procs);
}

static void step_retire(struct fleet *f)
{
	fleet_workers_retire(f, step_http);
}

void fleet_request_stop(struct fleet *f)
{
	if (f->stopping)
		return;
	f->stopping = true;
	fleet_log(f, "stopping");
	uv_timer_stop(&f->setup_retry);
	fleet_pgctl_restore(f, step_retire);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct fleet *f = s->data;

	if (f->stopping) {
		fleet_warn(f, "second signal (%s): exiting now", strsignal(signum));
		_exit(1); /* our children die with us (PR_SET_PDEATHSIG) */
	}
	f->exit_code = 0;
	fleet_request_stop(f);
}

static void print_stats(struct fleet *f)
{
	json_t *j = json_object();
	double rate;

	fleet_events_status(f, j);
	rate = json_real_value(json_object_get(json_object_get(j, "events"), "rate_10s"));
	fleet_log(f,
		  "runs %llu started, %llu completed, %llu failed; attempts %llu (%llu failed); "
		  "events %llu sent (%.1f/s over 10s), %llu dropped; pgmq %llu sent, %llu archived",
		  (unsigned long long)f->st.runs_started, (unsigned long long)f->st.runs_completed,
		  (unsigned long long)f->st.runs_failed, (unsigned long long)f->st.attempts,
		  (unsigned long long)f->st.attempts_failed, (unsigned long long)f->st.events_sent,
		  rate, (unsigned long long)f->st.events_dropped,
		  (unsigned long long)f->st.pgmq_sent, (unsigned long long)f->st.pgmq_archived);
	json_decref(j);
}

static void on_tick(uv_timer_t *t)
{
	struct fleet *f = t->data;
	int64_t now = fleet_now_ms(f);
	int kept = 0, before = f->n_hb_stops;

	for (int i = 0; i < f->n_hb_stops; i++)
		if (!f->hb_stops[i].until_ms || f->hb_stops[i].until_ms > now)
			f->hb_stops[kept++] = f->hb_stops[i];
	f->n_hb_stops = kept;
	if (kept != before) {
		fleet_hb_recompute(f);
		fleet_log(f, "heartbeats resumed (%d stop(s) expired)", before - kept);
	}
	fleet_http_tick(f, now);
	fleet_deps_tick(f, now);
	fleet_pgctl_tick(f, now);
	if (f->o.stats_ms && f->setup_done && now - f->last_stats_ms >= f->o.stats_ms) {
		f->last_stats_ms = now;
		print_stats(f);
	}
	if (f->o.duration_ms && now - f->started_ms >= f->o.duration_ms && !f->stopping) {
		print_stats(f);
		fleet_request_stop(f);
	}
}

static void start_setup(struct fleet *f);

static void setup_retry_fire(uv_timer_t *t)
{
	start_setup(t->data);
}

static void setup_done(struct fleet *f, int rc, const char *msg)
{
	char m[FLEET_MSG_MAX];

	if (f->stopping)
		return;
	if (rc < 0) {
		fleet_warn(f, "setup: %s (retrying in %ds)", msg, FLEET_SETUP_RETRY_MS / 1000);
		uv_timer_start(&f->setup_retry, setup_retry_fire, FLEET_SETUP_RETRY_MS, 0);
		return;
	}
	f->setup_done = true;
	fleet_log(f, "schemas ready; %d supervisors registered on database %s (cluster %s)",
		  f->o.supervisors, f->database, f->cluster[0] ? f->cluster : "?");
	fleet_workers_start(f);
	fleet_flow_start(f);
	fleet_events_start(f);
	fleet_deps_start(f);
	if (f->o.write_config[0] &&
	    fleet_status_write_config(f, f->o.write_config, m, sizeof(m)) < 0)
		fleet_warn(f, "--write-config: %s", m);
	if (f->o.ready_file[0] && fleet_status_write_ready(f, f->o.ready_file, m, sizeof(m)) < 0)
		fleet_warn(f, "--ready-file: %s", m);
	fleet_log(f, "ready: control socket %s", f->control);
}

static void start_setup(struct fleet *f)
{
	int rc = fleet_setup_start(f, setup_done);

	if (rc < 0) {
		fleet_warn(f, "setup: %s", uv_strerror(rc));
		fleet_request_stop(f);
	}
}

static void on_pg_state(struct pgconn *c, const struct pgconn_event *ev, void *ctx)
{
	struct fleet *f = ctx;

	/* One connection speaks for all (they share the server's fate). */
	if (c != f->ctl_conn)
		return;
	f->ctl_retry_at =
	    ev->state == PGCONN_RECONNECTING
		? uv_now(f->loop) + (uint64_t)(ev->retry_in_ms > 0 ? ev->retry_in_ms : 0)
		: 0;
	if (ev->state == PGCONN_DISCONNECTED && ev->failures <= 1)
		fleet_warn(f, "database connection lost: %s", ev->reason ? ev->reason : "");
}

static void on_pg_connected(struct pgconn *c, void *ctx)
{
	struct fleet *f = ctx;

	if (c == f->ctl_conn && f->setup_done)
		fleet_log(f, "database connection (re)established");
}

static struct pgconn *connect_one(struct fleet *f, struct ov_error *err)
{
	struct pgconn_opts po = {.connect_timeout_ms = 5000,
				 .backoff_base_ms = 250,
				 .backoff_cap_ms = 4000,
				 .application_name = "fleet",
				 .rng = &f->rng};
	struct pgconn_callbacks cbs = {
	    .on_state = on_pg_state, .on_connected = on_pg_connected, .ctx = f};

	return pgconn_new(f->loop, f->o.conninfo, &po, &cbs, err);
}

static int prepare_dirs(struct fleet *f)
{
	struct sockaddr_un sa;

	if (!f->o.pidfile_dir[0]) {
		const char *tmp = getenv("TMPDIR");
		snprintf(f->pidfile_dir, sizeof(f->pidfile_dir), "%s/fleet.XXXXXX",
			 tmp && tmp[0] == '/' ? tmp : "/tmp");
		if (!mkdtemp(f->pidfile_dir)) {
			fprintf(stderr, "fleet: mkdtemp: %s\n", strerror(errno));
			return -errno;
		}
		f->own_pidfile_dir = true;
	} else {
		if (!realpath(f->o.pidfile_dir, f->pidfile_dir)) {
			if (mkdir(f->o.pidfile_dir, 0700) < 0 ||
			    !realpath(f->o.pidfile_dir, f->pidfile_dir)) {
				fprintf(stderr, "fleet: --pidfile-dir %s: %s\n", f->o.pidfile_dir,
					strerror(errno));
				return -errno;
			}
		}
	}
	int n = f->o.control[0]
		    ? snprintf(f->control, sizeof(f->control), "%s", f->o.control)
		    : snprintf(f->control, sizeof(f->control), "%s/control.sock", f->pidfile_dir);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		fprintf(stderr, "fleet: control socket path too long: %s\n", f->control);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int init(struct fleet *f, uv_loop_t *loop)
{
	struct ov_error err = {0};
	char msg[FLEET_MSG_MAX];
	uint64_t seed = f->o.seed, p;
	ssize_t n;

	f->loop = loop;
	/* Handles first: whatever fails below, shutdown closes these. */
	uv_timer_init(loop, &f->tick);
	uv_timer_init(loop, &f->setup_retry);
	f->tick.data = f->setup_retry.data = f;
	uv_signal_init(loop, &f->sigint);
	uv_signal_init(loop, &f->sigterm);
	uv_signal_init(loop, &f->sighup);
	f->sigint.data = f->sigterm.data = f->sighup.data = f;
	uv_signal_start(&f->sigint, on_signal, SIGINT);
	uv_signal_start(&f->sigterm, on_signal, SIGTERM);
	uv_signal_start(&f->sighup, on_signal, SIGHUP);
	n = readlink("/proc/self/exe", f->exe, sizeof(f->exe) - 1);
	if (n <= 0)
		return -errno;
	f->exe[n] = '\0';
	if (!f->o.has_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)fleet_wall_ms() ^ (uint64_t)getpid();
	ov_splitmix_init(&f->rng, &f->sm, seed);
	p = f->rng.next(f->rng.ctx);
	snprintf(f->worker_prefix, sizeof(f->worker_prefix), "%08x-%04x-4%03x-8%03x-",
		 (unsigned)(p >> 32), (unsigned)((p >> 16) & 0xffff), (unsigned)((p >> 4) & 0xfff),
		 (unsigned)(f->rng.next(f->rng.ctx) & 0xfff));
	f->nqueues = f->o.queues;
	fleet_flow_queue_names(f);
	f->hb_stopped = calloc((size_t)f->o.supervisors, 1);
	if (!f->hb_stopped || prepare_dirs(f) < 0)
		return -ENOMEM;
	f->started_ms = fleet_now_ms(f);
	if (fleet_flow_new(f) < 0 || fleet_workers_new(f) < 0 || fleet_events_new(f) < 0 ||
	    fleet_deps_new(f) < 0 || fleet_http_new(f) < 0 || fleet_procs_new(f) < 0 ||
	    fleet_pgctl_new(f) < 0)
		return -ENOMEM;
	if (!(f->ctl_conn = connect_one(f, &err)) || !(f->flow_conn = connect_one(f, &err))) {
		fprintf(stderr, "fleet: %s\n", err.msg);
		return -EINVAL;
	}
	for (int i = 0; i < f->o.event_conns; i++) {
		if (!(f->ev_conn[i] = connect_one(f, &err)))
			return -EINVAL;
		f->n_ev_conns++;
	}
	uv_timer_start(&f->tick, on_tick, FLEET_TICK_MS, FLEET_TICK_MS);
	if (fleet_http_start(f, msg, sizeof(msg)) < 0 || fleet_ctl_start(f, msg, sizeof(msg)) < 0 ||
	    fleet_procs_start(f, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "fleet: %s\n", msg);
		return -EIO;
	}
	for (int i = 0; i < fleet_http_count(f); i++)
		fleet_log(f, "health endpoint %s: http://127.0.0.1:%d/health",
			  fleet_http_name(f, i), fleet_http_port(f, i));
	start_setup(f);
	return 0;
}

static void close_all(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int run_main(int argc, char **argv)
{
	struct fleet *f = calloc(1, sizeof(*f));
	uv_loop_t loop;
	int rc;

	if (!f)
		return 1;
	rc = parse(argc, argv, &f->o);
	if (rc != 0) {
		free(f);
		return rc < 0 ? 3 : 0; /* 1: --help was printed */
	}
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&loop);
	rc = init(f, &loop);
	if (rc < 0) {
		f->exit_code = 1;
		f->setup_done = false;
		fleet_request_stop(f);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_walk(&loop, close_all, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		fleet_warn(f, "handles left open at exit");
	if (f->own_pidfile_dir && rmdir(f->pidfile_dir) < 0 && errno != ENOENT)
		fleet_warn(f, "could not remove %s: %s", f->pidfile_dir, strerror(errno));
	fleet_log(f, "stopped");
	rc = f->exit_code;
	free(f->hb_stopped);
	free(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return run_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "chaos") == 0)
		return fleet_chaos_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "worker-proc") == 0)
		return fleet_worker_proc_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
		printf("fleet %s\n", OV_VERSION);
		return 0;
	}
	usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 3;
}
