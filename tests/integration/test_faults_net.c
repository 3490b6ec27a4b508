/* test_faults_net.c — hostile and broken health-check peers against the real
 * poller (issue 10): a name that does not resolve, a peer that accepts and
 * never answers, one that trickles a byte a second, an endless body,
 * garbage and endless headers. Each case asserts the outcome the operator
 * sees in the model, the time it took, and that a healthy target polled
 * alongside it was never held up.
 *
 * The misbehaving peers are a raw TCP server on its own thread (one poll()
 * loop, behaviour chosen by the request path), so nothing in the client's
 * process helps it along. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "httpd_test.h"
#include "httpd_test.c" /* one source per integration test, see tests/meson.build */
#include "model.h"
#include "pgtest.h"
#include "pgtest.c"
#include "poller.h"

#define WAIT_MS 30000
#define TICK_MS 5
#define PASS_INTERVAL_MS 200
#define RAW_CONNS_MAX 16
#define RAW_REQ_MAX 2048
#define RAW_CHUNK (64 * 1024)
#define TRICKLE_PERIOD_NS 1000000000ULL	      /* a byte a second */
#define BOUND_SENT_BYTES (32LL * 1024 * 1024) /* far below "forever" */

/* ---- the misbehaving peer -------------------------------------------------- */

enum raw_mode {
	RAW_REQUEST,
	RAW_TRICKLE,
	RAW_ENDLESS,
	RAW_HUGE_LENGTH,
	RAW_GARBAGE,
	RAW_ENDLESS_HEADER,
	RAW_MODE_COUNT
};

static const char *const raw_paths[RAW_MODE_COUNT] = {
    [RAW_TRICKLE] = "/trickle",
    [RAW_ENDLESS] = "/endless",
    [RAW_HUGE_LENGTH] = "/huge-length",
    [RAW_GARBAGE] = "/garbage",
    [RAW_ENDLESS_HEADER] = "/endless-header",
};

/* What each mode sends first; RAW_ENDLESS* then send RAW_CHUNK blocks until
 * the client goes away, RAW_TRICKLE one byte per TRICKLE_PERIOD_NS. */
static const char *const raw_heads[RAW_MODE_COUNT] = {
    [RAW_TRICKLE] = "HTTP/1.1 200 OK\r\nContent-Type: application/health+json\r\n"
		    "Content-Length: 1000\r\n\r\n",
    [RAW_ENDLESS] = "HTTP/1.1 200 OK\r\nContent-Type: application/health+json\r\n"
		    "Connection: close\r\n\r\n",
    [RAW_HUGE_LENGTH] = "HTTP/1.1 200 OK\r\nContent-Type: application/health+json\r\n"
			"Content-Length: 107374182400\r\n\r\n",
    [RAW_ENDLESS_HEADER] = "HTTP/1.1 200 OK\r\nX-Junk: ",
};

/* Terminal escapes, invalid UTF-8, a NUL and no HTTP at all. */
static const char raw_garbage[] = "\x1b[2J\x1b]0;owned\x07\xff\xfe\x01HTTP/9 \x00\x80 lol\r\n\r\n";

struct raw_conn {
	int fd; /* -1: free */
	enum raw_mode mode;
	size_t req_len;
	char req[RAW_REQ_MAX];
	uint64_t next_ns;
};

struct rawsrv {
	int lfd;
	uint16_t port;
	pthread_t th;
	pthread_mutex_t mu;
	bool stop;
	struct raw_conn c[RAW_CONNS_MAX];
	/* per mode, under mu */
	int64_t sent[RAW_MODE_COUNT];
	int hangups[RAW_MODE_COUNT];
};

static void raw_close(struct rawsrv *s, struct raw_conn *c, bool hangup)
{
	pthread_mutex_lock(&s->mu);
	if (hangup)
		s->hangups[c->mode]++;
	pthread_mutex_unlock(&s->mu);
	close(c->fd);
	c->fd = -1;
}

/* Send what the socket takes now; false when the client has gone. */
static bool raw_send(struct rawsrv *s, struct raw_conn *c, const char *buf, size_t n)
{
	ssize_t w = send(c->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK;
	pthread_mutex_lock(&s->mu);
	s->sent[c->mode] += w;
	pthread_mutex_unlock(&s->mu);
	return true;
}

static void raw_read_request(struct raw_conn *c)
{
	ssize_t r = recv(c->fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, MSG_DONTWAIT);
	if (r <= 0)
		return;
	c->req_len += (size_t)r;
	c->req[c->req_len] = '\0';
	if (!strstr(c->req, "\r\n\r\n"))
		return;
	for (int m = RAW_TRICKLE; m < RAW_MODE_COUNT; m++) {
		size_t n = strlen(raw_paths[m]);
		if (strncmp(c->req + 4, raw_paths[m], n) == 0 && c->req[4 + n] == ' ')
			c->mode = (enum raw_mode)m;
	}
}

static void raw_step(struct rawsrv *s, struct raw_conn *c, short revents)
{
	static const char zeros[RAW_CHUNK];
	static char letters[RAW_CHUNK];
	char probe;
	ssize_t r;

	if (!letters[0])
		memset(letters, 'a', sizeof(letters));
	if (c->mode == RAW_REQUEST) {
		raw_read_request(c);
		if (c->mode == RAW_REQUEST)
			return;
		const char *head = c->mode == RAW_GARBAGE ? raw_garbage : raw_heads[c->mode];
		size_t n = c->mode == RAW_GARBAGE ? sizeof(raw_garbage) - 1 : strlen(head);
		if (!raw_send(s, c, head, n))
			goto gone;
		c->next_ns = uv_hrtime() + TRICKLE_PERIOD_NS;
		return;
	}
	/* The client hung up (or reset): EOF or an error on read. */
	if ((revents & (POLLIN | POLLHUP | POLLERR)) &&
	    ((r = recv(c->fd, &probe, 1, MSG_DONTWAIT | MSG_PEEK)) == 0 ||
	     (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)))
		goto gone;
	switch (c->mode) {
	case RAW_TRICKLE:
		if (uv_hrtime() >= c->next_ns) {
			c->next_ns += TRICKLE_PERIOD_NS;
			if (!raw_send(s, c, " ", 1))
				goto gone;
		}
		break;
	case RAW_ENDLESS:
	case RAW_HUGE_LENGTH:
	case RAW_ENDLESS_HEADER:
		if ((revents & POLLOUT) &&
		    !raw_send(s, c, c->mode == RAW_ENDLESS_HEADER ? letters : zeros, RAW_CHUNK))
			goto gone;
		break;
	default:
		break; /* garbage sent: wait for the client to give up */
	}
	return;
gone:
	raw_close(s, c, true);
}

static void *raw_main(void *arg)
{
	struct rawsrv *s = arg;
	struct pollfd pf[RAW_CONNS_MAX + 1];

	for (;;) {
		pthread_mutex_lock(&s->mu);
		bool stop = s->stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		pf[0] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
		for (int i = 0; i < RAW_CONNS_MAX; i++) {
			bool writer = s->c[i].mode == RAW_ENDLESS ||
				      s->c[i].mode == RAW_HUGE_LENGTH ||
				      s->c[i].mode == RAW_ENDLESS_HEADER;
			pf[i + 1] = (struct pollfd){
			    .fd = s->c[i].fd, .events = (short)(POLLIN | (writer ? POLLOUT : 0))};
		}
		if (poll(pf, RAW_CONNS_MAX + 1, 20) < 0)
			continue;
		if (pf[0].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);
			for (int i = 0; fd >= 0 && i < RAW_CONNS_MAX; i++) {
				if (s->c[i].fd < 0) {
					s->c[i] = (struct raw_conn){.fd = fd, .mode = RAW_REQUEST};
					fd = -1;
				}
			}
			if (fd >= 0)
				close(fd); /* full: refuse */
		}
		for (int i = 0; i < RAW_CONNS_MAX; i++)
			if (s->c[i].fd >= 0)
				raw_step(s, &s->c[i], pf[i + 1].revents);
	}
	for (int i = 0; i < RAW_CONNS_MAX; i++)
		if (s->c[i].fd >= 0)
			raw_close(s, &s->c[i], false);
	return NULL;
}

/* A listener on 127.0.0.1; backlog only when nobody accepts. */
static int listen_local(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static struct rawsrv *raw_start(void)
{
	struct rawsrv *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	for (int i = 0; i < RAW_CONNS_MAX; i++)
		s->c[i].fd = -1;
	s->lfd = listen_local(&s->port);
	assert_true(s->lfd >= 0);
	pthread_mutex_init(&s->mu, NULL);
	assert_int_equal(pthread_create(&s->th, NULL, raw_main, s), 0);
	return s;
}

static void raw_stats(struct rawsrv *s, enum raw_mode m, int64_t *sent, int *hangups)
{
	pthread_mutex_lock(&s->mu);
	*sent = s->sent[m];
	*hangups = s->hangups[m];
	pthread_mutex_unlock(&s->mu);
}

static void raw_stop(struct rawsrv *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->th, NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ---- fixture --------------------------------------------------------------- */

struct fx {
	uv_loop_t loop;
	uv_timer_t tick, watchdog;
	struct ov_config *cfg;
	struct model m;
	struct poller *p;
	struct httpd *d;
	struct rawsrv *raw;
	int mute_fd; /* listens, never accepts */
	uint16_t mute_port;
	char conninfo[PGTEST_CONNINFO_MAX];
	bool have_db;
	bool (*pred)(struct fx *f);
	bool pred_ok;
	int64_t t0; /* loop time the round started */
	uint64_t pass_polls0;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	if (pgtest_server_available() != 0)
		exit(PGTEST_EXIT_SKIP);
	assert_int_equal(pgtest_create_db(f->conninfo, sizeof(f->conninfo)), 0);
	f->have_db = true;
	f->d = httpd_start();
	assert_non_null(f->d);
	f->raw = raw_start();
	f->mute_fd = listen_local(&f->mute_port);
	assert_true(f->mute_fd >= 0);
	f->cfg = config_new();
	assert_non_null(f->cfg);
	model_init(&f->m);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	uv_timer_init(&f->loop, &f->tick);
	uv_timer_init(&f->loop, &f->watchdog);
	f->tick.data = f->watchdog.data = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	if (f->p)
		poller_close(f->p, NULL, NULL);
	uv_close((uv_handle_t *)&f->tick, NULL);
	uv_close((uv_handle_t *)&f->watchdog, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	raw_stop(f->raw);
	close(f->mute_fd);
	assert_int_equal(httpd_stop(f->d), 0);
	if (f->have_db)
		pgtest_drop_db(f->conninfo);
	config_free(f->cfg);
	free(f);
	return 0;
}

static void on_tick(uv_timer_t *t)
{
	struct fx *f = t->data;
	if (f->pred(f)) {
		f->pred_ok = true;
		uv_stop(&f->loop);
	}
}

static void on_watchdog(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static bool run_until(struct fx *f, bool (*pred)(struct fx *f), uint64_t timeout_ms)
{
	f->pred = pred;
	f->pred_ok = false;
	uv_update_time(&f->loop);
	uv_timer_start(&f->tick, on_tick, 0, TICK_MS);
	uv_timer_start(&f->watchdog, on_watchdog, timeout_ms, 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	uv_timer_stop(&f->tick);
	uv_timer_stop(&f->watchdog);
	return f->pred_ok;
}

static const struct model_health *health(struct fx *f, const char *name)
{
	for (int i = 0; i < f->m.n_health; i++)
		if (strcmp(f->m.health[i].name, name) == 0)
			return &f->m.health[i];
	fail_msg("no health target %s", name);
	return NULL;
}

static bool pred_bad_failed(struct fx *f)
{
	return health(f, "bad")->probe.failures > 0;
}

/* Poll target "bad" (the case) and "pass" (a healthy neighbour polled every
 * PASS_INTERVAL_MS) and wait for bad's first failed attempt. Returns the
 * model's view of it; *elapsed_ms is from the start of the round. */
static const struct model_health *first_failure(struct fx *f, const char *bad_cfg,
						int64_t *elapsed_ms)
{
	char text[4096];
	struct ov_error err = {0};

	snprintf(text, sizeof(text),
		 "[postgres]\nconninfo = %s\n"
		 "[health \"pass\"]\nurl = http://127.0.0.1:%u/pass\ninterval = %dms\n"
		 "[health \"bad\"]\ninterval = 60s\n%s",
		 f->conninfo, httpd_port(f->d), PASS_INTERVAL_MS, bad_cfg);
	if (config_load_string(f->cfg, text, strlen(text), "test.ini", &err) != 0)
		fail_msg("config: %s", err.msg);
	f->p = poller_new(&f->loop, f->cfg, &f->m, NULL, &err);
	if (!f->p)
		fail_msg("poller_new: %s", err.msg);
	uv_update_time(&f->loop);
	f->t0 = (int64_t)uv_now(&f->loop);
	assert_int_equal(poller_poll_once(f->p, NULL, NULL), 0);
	assert_int_equal(poller_start(f->p), 0);
	assert_true(run_until(f, pred_bad_failed, WAIT_MS));
	const struct model_health *h = health(f, "bad");
	*elapsed_ms = h->probe.updated_ms - f->t0;
	fprintf(stderr, "  %s after %lld ms: %s [%s] %s\n", h->url, (long long)*elapsed_ms,
		model_avail_name(h->probe.avail), errclass_name(h->probe.verdict.cls),
		h->probe.error);
	return h;
}

/* The neighbour was answered every interval while the case hung. */
static void assert_pass_unaffected(struct fx *f, int64_t during_ms)
{
	const struct model_health *p = health(f, "pass");
	assert_int_equal(p->probe.avail, MODEL_OK);
	assert_int_equal(p->probe.failures, 0);
	assert_true((int64_t)p->probe.polls >= during_ms / PASS_INTERVAL_MS / 2);
}

static bool pred_pg_answered(struct fx *f)
{
	return f->m.pg.probe.avail == MODEL_OK;
}

/* The operator's verdict names the target and the failure (once PostgreSQL
 * has answered, so that it is only about the health target). */
static void assert_verdict_names(struct fx *f, const char *what)
{
	char why[4096];
	assert_true(run_until(f, pred_pg_answered, WAIT_MS));
	assert_int_equal(model_verdict(&f->m, why, sizeof(why)), MODEL_VERDICT_DEGRADED);
	assert_non_null(strstr(why, "health bad"));
	assert_non_null(strstr(why, what));
}

static void assert_printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		assert_true(*p >= 0x20 && *p != 0x7f);
}

/* ---- the cases ------------------------------------------------------------- */

static void test_unresolvable_name_is_a_clear_connection_error(void **state)
{
	struct fx *f = *state;
	int64_t ms;
	const struct model_health *h =
	    first_failure(f,
			  "url = http://overseer-test.invalid/\ntimeout = 3s\n"
			  "connect_timeout = 2s\n",
			  &ms);
	assert_int_equal(h->probe.avail, MODEL_ERROR);
	assert_int_equal(h->probe.verdict.cls, ERRCLASS_CONNECTION);
	assert_non_null(strstr(h->probe.error, "resolve"));
	assert_non_null(strstr(h->probe.error, "overseer-test.invalid"));
	assert_true(ms <= 3000 + 500); /* never longer than its own timeout */
	assert_verdict_names(f, "resolve");
	assert_pass_unaffected(f, ms);
	assert_int_equal(f->m.pg.probe.avail, MODEL_OK);
}

static void test_peer_accepting_and_never_answering_times_out_on_time(void **state)
{
	struct fx *f = *state;
	char cfg[512];
	int64_t ms;
	snprintf(cfg, sizeof(cfg),
		 "url = http://127.0.0.1:%u/\ntimeout = 1500ms\nconnect_timeout = 1s\n",
		 f->mute_port);
	const struct model_health *h = first_failure(f, cfg, &ms);
	assert_int_equal(h->probe.avail, MODEL_ERROR);
	assert_int_equal(h->probe.verdict.cls, ERRCLASS_TIMEOUT);
	assert_non_null(strstr(h->probe.error, "timed out"));
	/* At the configured timeout: not before, and not much after. */
	assert_true(ms >= 1500 - 20);
	assert_true(ms <= 1500 + 500);
	assert_verdict_names(f, "timed out");
	assert_pass_unaffected(f, ms);
}

static void test_trickling_peer_is_cut_at_the_total_timeout(void **state)
{
	struct fx *f = *state;
	char cfg[512];
	int64_t ms, sent;
	int hangups;
	snprintf(cfg, sizeof(cfg),
		 "url = http://127.0.0.1:%u/trickle\ntimeout = 2500ms\nconnect_timeout = 1s\n",
		 f->raw->port);
	const struct model_health *h = first_failure(f, cfg, &ms);
	assert_int_equal(h->probe.avail, MODEL_ERROR);
	assert_int_equal(h->probe.verdict.cls, ERRCLASS_TIMEOUT);
	assert_non_null(strstr(h->probe.error, "timed out"));
	assert_true(ms >= 2500 - 20);
	assert_true(ms <= 2500 + 500);
	assert_verdict_names(f, "timed out");
	assert_pass_unaffected(f, ms);
	/* The peer sees the hang-up (at its next byte, within a second). */
	poller_close(f->p, NULL, NULL);
	f->p = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	for (int64_t end = (int64_t)(uv_hrtime() / 1000000u) + 3000;;) {
		raw_stats(f->raw, RAW_TRICKLE, &sent, &hangups);
		if (hangups >= 1 || (int64_t)(uv_hrtime() / 1000000u) > end)
			break;
		usleep(10000);
	}
	assert_true(hangups >= 1);
	assert_true(sent < 1000); /* headers plus a few seconds' bytes */
}

static void test_endless_body_is_cut_at_the_cap(void **state)
{
	struct fx *f = *state;
	char cfg[512];
	int64_t ms, sent;
	int hangups;
	snprintf(cfg, sizeof(cfg),
		 "url = http://127.0.0.1:%u/endless\ntimeout = 5s\nmax_body = 64KiB\n",
		 f->raw->port);
	const struct model_health *h = first_failure(f, cfg, &ms);
	assert_int_equal(h->probe.avail, MODEL_ERROR);
	assert_int_equal(h->probe.verdict.cls, ERRCLASS_VALIDATION);
	assert_non_null(strstr(h->probe.error, "too large"));
	assert_true(ms < 2000); /* at the cap, not at the timeout */
	assert_verdict_names(f, "too large");
	assert_pass_unaffected(f, ms);
	raw_stats(f->raw, RAW_ENDLESS, &sent, &hangups);
	assert_true(sent < BOUND_SENT_BYTES);
}

static void test_declared_huge_length_is_refused_at_once(void **state)
{
	struct fx *f = *state;
	char cfg[512];
	int64_t ms;
	snprintf(cfg, sizeof(cfg),
		 "url = http://127.0.0.1:%u/huge-length\ntimeout = 5s\nmax_body = 64KiB\n",
		 f->raw->port);
	const struct model_health *h = first_failure(f, cfg, &ms);
	assert_int_equal(h->probe.avail, MODEL_ERROR);
	assert_int_equal(h->probe.verdict.cls, ERRCLASS_VALIDATION);
	assert_non_null(strstr(h->probe.error, "too large"));
	assert_true(ms < 2000);
	assert_pass_unaffected(f, ms);
}

static void test_garbage_status_line_is_a_clear_sanitised_error(void **state)
{
	struct fx *f = *state;
	char cfg[512];
	int64_t ms;
	snprintf(cfg, sizeof(cfg), "url = http://127.0.0.1:%u/garbage\ntimeout = 3s\n",
		 f->raw->port);
	const struct model_health *h = first_failure(f, cfg, &ms);
	assert_int_equal(h->probe.avail, MODEL_ERROR);
	assert_true(h->probe.error[0] != '\0');
	assert_printable(h->probe.error);
	assert_false(h->has_result);
	assert_true(ms < 3000 + 500);
	assert_pass_unaffected(f, ms);
	/* The peer is at fault, not the operator's configuration (curl says
	 * UNSUPPORTED_PROTOCOL for a reply that is not HTTP/1.x). */
	assert_int_equal(h->probe.verdict.cls, ERRCLASS_EXTERNAL);
}

static void test_endless_header_is_bounded(void **state)
{
	struct fx *f = *state;
	char cfg[512];
	int64_t ms, sent;
	int hangups;
	snprintf(cfg, sizeof(cfg), "url = http://127.0.0.1:%u/endless-header\ntimeout = 5s\n",
		 f->raw->port);
	const struct model_health *h = first_failure(f, cfg, &ms);
	assert_int_equal(h->probe.avail, MODEL_ERROR);
	assert_true(h->probe.error[0] != '\0');
	assert_printable(h->probe.error);
	assert_true(ms < 5000); /* curl's header limit, not our timeout */
	assert_pass_unaffected(f, ms);
	raw_stats(f->raw, RAW_ENDLESS_HEADER, &sent, &hangups);
	assert_true(sent < BOUND_SENT_BYTES);
	/* Named for what it is: libcurl 7.x reports headers past its 100 KB
	 * limit as CURLE_OUT_OF_MEMORY, which must not reach the operator as
	 * "[system] Out of memory". */
	assert_int_not_equal(h->probe.verdict.cls, ERRCLASS_SYSTEM);
	assert_non_null(strstr(h->probe.error, "header"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unresolvable_name_is_a_clear_connection_error,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_peer_accepting_and_never_answering_times_out_on_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_trickling_peer_is_cut_at_the_total_timeout, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_endless_body_is_cut_at_the_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_declared_huge_length_is_refused_at_once, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_status_line_is_a_clear_sanitised_error,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_endless_header_is_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
