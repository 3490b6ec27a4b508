/* fleet_ctl.c — the control channel: a unix socket the running fleet
 * listens on (mode 0600), and `fleet chaos KIND ...`, its client.
 *
 * Protocol: one request line ("KIND ARG... [--opt VALUE]"), one reply line,
 * "ok TEXT" or "error TEXT" (`status` answers "ok {json}"). A request that
 * takes time (db-down, db-up) is answered when it is done. Commands are one
 * table: dispatch, `help` and docs/fleet.md come from it. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fleet.h"
#include "units.h"

#define CTL_BURST_DEFAULT_MS 30000
#define CTL_BURST_P_DEFAULT 0.9
#define CTL_CLIENT_TIMEOUT_MS 120000
#define CTL_POS_MAX 4

struct fleet_ctl_req {
	struct fleet_ctl_req *prev, *next;
	struct fleet_ctl *ctl;
	uv_pipe_t pipe;
	uv_write_t wr;
	size_t len;
	bool got_line, pending, peer_gone, closing;
	char line[FLEET_CTL_LINE_MAX];
	char *reply;
};

struct fleet_ctl {
	struct fleet *f;
	uv_pipe_t srv;
	bool listening, closing, srv_closed;
	struct fleet_ctl_req *conns;
};

/* Freed when the server and every connection are closed. */
static void ctl_maybe_free(struct fleet_ctl *ctl)
{
	if (ctl->closing && ctl->srv_closed && !ctl->conns)
		free(ctl);
}

struct cargs {
	int npos;
	const char *pos[CTL_POS_MAX];
	int64_t for_ms; /* 0: no expiry */
	int64_t delay_ms;
	const char *mode;
	double p;
	int sig;
};

typedef int (*ctl_fn)(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		      size_t n);

struct ctl_cmd {
	const char *name;
	int min_pos;
	const char *usage;
	const char *help;
	ctl_fn fn;
};

static int64_t until(const struct fleet *f, const struct cargs *a)
{
	return a->for_ms ? fleet_now_ms(f) + a->for_ms : 0;
}

static int c_status(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		    size_t n)
{
	json_t *j = fleet_status_json(f);
	size_t len = json_dumpb(j, out, n - 1, JSON_COMPACT);

	(void)a;
	(void)req;
	json_decref(j);
	if (len >= n - 1) {
		snprintf(out, n, "status too large");
		return -ENOBUFS;
	}
	out[len] = '\0';
	return 0;
}

static int c_db_down(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		     size_t n)
{
	(void)out;
	(void)n;
	if (a->mode[0] && strcmp(a->mode, "stop") != 0 && strcmp(a->mode, "refuse") != 0) {
		snprintf(out, n, "--mode is stop or refuse");
		return -EINVAL;
	}
	fleet_pgctl_down(f, a->mode, until(f, a), req);
	return 1;
}

static int c_db_up(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		   size_t n)
{
	(void)a;
	(void)out;
	(void)n;
	fleet_pgctl_up(f, req);
	return 1;
}

static int c_health(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		    size_t n)
{
	(void)req;
	return fleet_http_set_mode(f, a->pos[0], a->pos[1], a->delay_ms, until(f, a), out, n);
}

static int c_burst(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		   size_t n)
{
	int64_t dur = a->for_ms ? a->for_ms : CTL_BURST_DEFAULT_MS;
	double p = a->p >= 0 ? a->p : CTL_BURST_P_DEFAULT;

	(void)req;
	return fleet_events_burst(f, a->pos[0], p, fleet_now_ms(f) + dur, out, n);
}

/* "3" is worker 3, "queue:emails" every worker of a queue. */
static int parse_target(struct fleet *f, const char *t, int *worker, int *queue, char *out,
			size_t n)
{
	*worker = *queue = -1;
	if (strncmp(t, "queue:", 6) == 0) {
		for (int q = 0; q < f->nqueues; q++)
			if (strcmp(f->queue[q], t + 6) == 0)
				*queue = q;
		if (*queue < 0) {
			snprintf(out, n, "no queue '%s'", t + 6);
			return -ENOENT;
		}
		return 0;
	}
	char *end;
	long w = strtol(t, &end, 10);
	if (*end || w < 0 || w >= f->o.supervisors) {
		snprintf(out, n, "worker '%s': use 0..%d or queue:NAME", t, f->o.supervisors - 1);
		return -EINVAL;
	}
	*worker = (int)w;
	return 0;
}

static int c_hb_stop(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		     size_t n)
{
	int w, q;
	char id[FLEET_UUID_SIZE];

	(void)req;
	if (parse_target(f, a->npos ? a->pos[0] : "0", &w, &q, out, n) < 0)
		return -EINVAL;
	if (f->n_hb_stops >= FLEET_HB_STOPS_MAX) {
		snprintf(out, n, "too many stopped heartbeats (%d)", FLEET_HB_STOPS_MAX);
		return -ENOBUFS;
	}
	f->hb_stops[f->n_hb_stops++] = (struct fleet_hb_stop){w, q, until(f, a)};
	fleet_hb_recompute(f);
	if (w >= 0) {
		fleet_worker_id(f, w, id);
		snprintf(out, n, "worker %d (%s, queue %s) stopped heartbeating", w, id,
			 f->queue[w % f->nqueues]);
	} else {
		snprintf(out, n, "every worker of queue %s stopped heartbeating", f->queue[q]);
	}
	return 0;
}

static int c_hb_resume(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		       size_t n)
{
	int w = -1, q = -1, kept = 0, before = f->n_hb_stops;
	bool all = !a->npos || strcmp(a->pos[0], "all") == 0;

	(void)req;
	if (!all && parse_target(f, a->pos[0], &w, &q, out, n) < 0)
		return -EINVAL;
	for (int i = 0; i < f->n_hb_stops; i++) {
		const struct fleet_hb_stop *s = &f->hb_stops[i];
		if (all || (w >= 0 && s->worker == w) || (q >= 0 && s->queue == q))
			continue;
		f->hb_stops[kept++] = *s;
	}
	f->n_hb_stops = kept;
	fleet_hb_recompute(f);
	snprintf(out, n, "%d heartbeat stop(s) lifted", before - kept);
	return 0;
}

static int c_proc_kill(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		       size_t n)
{
	(void)req;
	return fleet_procs_kill(f, a->pos[0], a->sig ? a->sig : SIGKILL, out, n);
}

static int c_proc_start(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req,
			char *out, size_t n)
{
	(void)req;
	return fleet_procs_spawn(f, a->pos[0], out, n);
}

static int c_brk_open(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		      size_t n)
{
	int64_t u = until(f, a);

	(void)req;
	/* No --for: the outage lasts until breaker-close. */
	return fleet_deps_set_outage(f, a->pos[0], u ? u : INT64_MAX, out, n);
}

static int c_brk_close(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		       size_t n)
{
	(void)req;
	return fleet_deps_set_outage(f, a->pos[0], 0, out, n);
}

static int c_rate(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		  size_t n)
{
	char *end;
	double r = strcmp(a->pos[0], "max") == 0 ? -1 : strtod(a->pos[0], &end);

	(void)req;
	if (r >= 0 && (*end || r > 1e7)) {
		snprintf(out, n, "rate '%s': events per second, or max", a->pos[0]);
		return -EINVAL;
	}
	fleet_events_set_rate(f, r);
	snprintf(out, n, "event rate now %s", a->pos[0]);
	return 0;
}

static int c_reset(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		   size_t n)
{
	char msg[FLEET_MSG_MAX];

	(void)a;
	(void)req;
	for (int i = 0; i < fleet_http_count(f); i++)
		fleet_http_set_mode(f, fleet_http_name(f, i), "pass", 0, 0, msg, sizeof(msg));
	for (size_t i = 0; i < fleet_deps_count(); i++)
		fleet_deps_set_outage(f, fleet_deps_name(i), 0, msg, sizeof(msg));
	for (size_t i = 0; i < fleet_events_agent_count(); i++)
		fleet_events_burst(f, fleet_events_agent_name(i), 0, 0, msg, sizeof(msg));
	f->n_hb_stops = 0;
	fleet_hb_recompute(f);
	fleet_pgctl_up(f, NULL);
	snprintf(out, n, "every fault lifted (a stopped database is being started)");
	return 0;
}

static int c_stop(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		  size_t n)
{
	(void)a;
	(void)req;
	fleet_request_stop(f);
	snprintf(out, n, "stopping");
	return 0;
}

static int c_help(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		  size_t n);

static const struct ctl_cmd cmds[] = {
    {"status", 0, "status", "the fleet as JSON", c_status},
    {"db-down", 0, "db-down [--mode stop|refuse] [--for DUR]",
     "stop the cluster (pg_ctlcluster) or make the database refuse connections", c_db_down},
    {"db-up", 0, "db-up", "bring the database back", c_db_up},
    {"health", 2, "health NAME pass|warn|fail|slow|silent|down [--delay DUR] [--for DUR]",
     "set a health endpoint's behaviour", c_health},
    {"error-burst", 1, "error-burst AGENT [--p FRACTION] [--for DUR]",
     "one agent fails most of its tasks (default 0.9 for 30s)", c_burst},
    {"heartbeat-stop", 0, "heartbeat-stop [WORKER|queue:NAME] [--for DUR]",
     "a worker (default 0) or a whole queue stops heartbeating", c_hb_stop},
    {"heartbeat-resume", 0, "heartbeat-resume [WORKER|queue:NAME|all]", "heartbeats start again",
     c_hb_resume},
    {"proc-kill", 1, "proc-kill NAME [--signal SIG]",
     "a managed process dies (default SIGKILL: its pid file stays)", c_proc_kill},
    {"proc-start", 1, "proc-start NAME", "start a managed process again", c_proc_start},
    {"breaker-open", 1, "breaker-open DEPENDENCY [--for DUR]",
     "the dependency fails every call, so its breaker opens", c_brk_open},
    {"breaker-close", 1, "breaker-close DEPENDENCY",
     "the dependency recovers; probes close its breaker", c_brk_close},
    {"rate", 1, "rate EVENTS_PER_S|max", "change the event rate", c_rate},
    {"reset", 0, "reset", "lift every fault", c_reset},
    {"stop", 0, "stop", "stop the fleet (as SIGTERM)", c_stop},
    {"help", 0, "help", "this list", c_help},
};

static int c_help(struct fleet *f, const struct cargs *a, struct fleet_ctl_req *req, char *out,
		  size_t n)
{
	size_t len = 0;

	(void)f;
	(void)a;
	(void)req;
	for (size_t i = 0; i < OV_ARRAY_LEN(cmds) && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s", i ? " | " : "", cmds[i].usage);
	return 0;
}

static int parse_args(char *line, const struct ctl_cmd **cmd, struct cargs *a, char *out, size_t n)
{
	char *save = NULL, *tok = strtok_r(line, " \t", &save);
	struct ov_error err = {0};

	*a = (struct cargs){.mode = "", .p = -1};
	*cmd = NULL;
	for (size_t i = 0; tok && i < OV_ARRAY_LEN(cmds); i++)
		if (strcmp(tok, cmds[i].name) == 0)
			*cmd = &cmds[i];
	if (!*cmd) {
		snprintf(out, n, "unknown command '%s' (try help)", tok ? tok : "");
		return -EINVAL;
	}
	while ((tok = strtok_r(NULL, " \t", &save))) {
		if (tok[0] != '-' || tok[1] != '-') {
			if (a->npos >= CTL_POS_MAX) {
				snprintf(out, n, "too many arguments: %s", (*cmd)->usage);
				return -EINVAL;
			}
			a->pos[a->npos++] = tok;
			continue;
		}
		char *val = strtok_r(NULL, " \t", &save);
		int rc = -EINVAL;
		if (!val)
			snprintf(err.msg, sizeof(err.msg), "%s needs a value", tok);
		else if (strcmp(tok, "--for") == 0)
			rc = units_parse_duration(val, &a->for_ms, &err);
		else if (strcmp(tok, "--delay") == 0)
			rc = units_parse_duration(val, &a->delay_ms, &err);
		else if (strcmp(tok, "--mode") == 0)
			a->mode = val, rc = 0;
		else if (strcmp(tok, "--p") == 0) {
			char *end;
			a->p = strtod(val, &end);
			rc = *end || a->p < 0 || a->p > 1 ? -EINVAL : 0;
			snprintf(err.msg, sizeof(err.msg), "--p is a fraction in 0..1");
		} else if (strcmp(tok, "--signal") == 0)
			rc = units_parse_signal(val, &a->sig, &err);
		else
			snprintf(err.msg, sizeof(err.msg), "unknown option %s", tok);
		if (rc < 0) {
			snprintf(out, n, "%s (%s)", err.msg, (*cmd)->usage);
			return -EINVAL;
		}
	}
	if (a->npos < (*cmd)->min_pos) {
		snprintf(out, n, "usage: %s", (*cmd)->usage);
		return -EINVAL;
	}
	return 0;
}

/* ---- server ---- */

static void conn_closed(uv_handle_t *h)
{
	struct fleet_ctl_req *c = h->data;
	struct fleet_ctl *ctl = c->ctl;

	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->reply);
	free(c);
	ctl_maybe_free(ctl);
}

static void conn_close(struct fleet_ctl_req *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void reply_written(uv_write_t *wr, int status)
{
	(void)status;
	conn_close(wr->data);
}

void fleet_ctl_reply(struct fleet_ctl_req *c, bool ok, const char *text)
{
	size_t n = strlen(text) + 8;

	c->pending = false;
	if (c->peer_gone || c->closing || !(c->reply = malloc(n))) {
		conn_close(c);
		return;
	}
	n = (size_t)snprintf(c->reply, n, "%s %s\n", ok ? "ok" : "error", text);
	uv_buf_t b = uv_buf_init(c->reply, (unsigned)n);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, reply_written) < 0)
		conn_close(c);
}

static void dispatch(struct fleet_ctl_req *c)
{
	struct fleet *f = c->ctl->f;
	const struct ctl_cmd *cmd;
	struct cargs a;
	char *out = malloc(FLEET_REPLY_MAX);
	int rc;

	if (!out) {
		conn_close(c);
		return;
	}
	out[0] = '\0';
	rc = parse_args(c->line, &cmd, &a, out, FLEET_REPLY_MAX);
	if (rc == 0) {
		c->pending = true;
		rc = cmd->fn(f, &a, c, out, FLEET_REPLY_MAX);
	}
	if (rc != 1) {
		if (cmd && cmd->fn != c_status && cmd->fn != c_help)
			fleet_log(f, "control: %s -> %.200s", cmd->name, out);
		fleet_ctl_reply(c, rc == 0, out);
	}
	free(out);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct fleet_ctl_req *c = h->data;
	static char sink[64];

	(void)suggested;
	if (c->got_line)
		*buf = uv_buf_init(sink, sizeof(sink));
	else
		*buf = uv_buf_init(c->line + c->len, (unsigned)(sizeof(c->line) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct fleet_ctl_req *c = s->data;
	char *nl;

	(void)buf;
	if (nread < 0) {
		uv_read_stop(s);
		if (c->pending)
			c->peer_gone = true; /* answered (to nobody) when done */
		else if (!c->reply)
			conn_close(c);
		return;
	}
	if (c->got_line || nread == 0)
		return;
	c->len += (size_t)nread;
	c->line[c->len] = '\0';
	nl = strchr(c->line, '\n');
	if (!nl) {
		if (c->len >= sizeof(c->line) - 1)
			fleet_ctl_reply(c, false, "request line too long");
		return;
	}
	*nl = '\0';
	if (nl > c->line && nl[-1] == '\r')
		nl[-1] = '\0';
	c->got_line = true;
	dispatch(c);
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct fleet_ctl *ctl = srv->data;
	struct fleet_ctl_req *c;

	if (status < 0 || !(c = calloc(1, sizeof(*c))))
		return;
	c->ctl = ctl;
	uv_pipe_init(ctl->f->loop, &c->pipe, 0);
	c->pipe.data = c;
	c->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = c;
	ctl->conns = c;
	if (uv_accept(srv, (uv_stream_t *)&c->pipe) < 0 ||
	    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		conn_close(c);
}

int fleet_ctl_start(struct fleet *f, char *msg, size_t msglen)
{
	struct fleet_ctl *ctl = calloc(1, sizeof(*ctl));
	struct stat st;
	int rc;

	if (!ctl)
		return -ENOMEM;
	ctl->f = f;
	f->ctl = ctl;
	/* A socket left by a fleet that died is ours to replace; a file is not. */
	if (lstat(f->control, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(f->control);
	uv_pipe_init(f->loop, &ctl->srv, 0);
	ctl->srv.data = ctl;
	mode_t old = umask(077);
	rc = uv_pipe_bind(&ctl->srv, f->control);
	umask(old);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ctl->srv, 16, on_conn);
	if (rc < 0) {
		snprintf(msg, msglen, "control socket %s: %s", f->control, uv_strerror(rc));
		return rc;
	}
	ctl->listening = true;
	return 0;
}

static void srv_closed(uv_handle_t *h)
{
	struct fleet_ctl *ctl = h->data;

	ctl->srv_closed = true;
	ctl_maybe_free(ctl);
}

void fleet_ctl_close(struct fleet *f)
{
	struct fleet_ctl *ctl = f->ctl;

	if (!ctl)
		return;
	f->ctl = NULL;
	ctl->closing = true;
	for (struct fleet_ctl_req *c = ctl->conns; c; c = c->next) {
		if (c->pending) /* e.g. a db-down still running: say so */
			fleet_ctl_reply(c, false, "the fleet is stopping");
		else
			conn_close(c);
	}
	if (ctl->listening)
		unlink(f->control);
	uv_close((uv_handle_t *)&ctl->srv, srv_closed);
}

/* ---- client: fleet chaos KIND [ARGS] [--control SOCKET] ---- */

int fleet_chaos_main(int argc, char **argv)
{
	const char *sock = getenv("FLEET_CONTROL");
	char line[FLEET_CTL_LINE_MAX], *reply = malloc(FLEET_REPLY_MAX + 1);
	size_t len = 0, got = 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, rc = 2;

	if (!reply)
		return 2;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
			sock = argv[++i];
			continue;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: fleet chaos KIND [ARGS] --control SOCKET\nkinds:\n");
			for (size_t k = 0; k < OV_ARRAY_LEN(cmds); k++)
				printf("  %-70s %s\n", cmds[k].usage, cmds[k].help);
			free(reply);
			return 0;
		}
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? " " : "",
					argv[i]);
		if (len >= sizeof(line) - 2) {
			fprintf(stderr, "fleet chaos: request too long\n");
			free(reply);
			return 3;
		}
	}
	if (!len || !sock || strlen(sock) >= sizeof(sa.sun_path)) {
		fprintf(stderr,
			"usage: fleet chaos KIND [ARGS] --control SOCKET (or FLEET_CONTROL);"
			" fleet chaos --help lists the kinds\n");
		free(reply);
		return 3;
	}
	line[len++] = '\n';
	memcpy(sa.sun_path, sock, strlen(sock));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "fleet chaos: %s: %s (is the fleet running?)\n", sock,
			strerror(errno));
		goto out;
	}
	if (write(fd, line, len) != (ssize_t)len) {
		fprintf(stderr, "fleet chaos: write: %s\n", strerror(errno));
		goto out;
	}
	while (got < FLEET_REPLY_MAX && !memchr(reply, '\n', got)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, CTL_CLIENT_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "fleet chaos: no answer\n");
			goto out;
		}
		ssize_t n = read(fd, reply + got, FLEET_REPLY_MAX - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	if (strncmp(reply, "ok ", 3) == 0) {
		fputs(reply + 3, stdout);
		rc = 0;
	} else {
		fprintf(stderr, "fleet chaos: %s",
			strncmp(reply, "error ", 6) == 0 ? reply + 6 : reply);
		rc = 1;
	}
out:
	if (fd >= 0)
		close(fd);
	free(reply);
	return rc;
}
