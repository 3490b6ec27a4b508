/* httpd_test.c — the loopback HTTP server behind test_http.c (see the .h). */
#include "httpd_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <errno.h>
#include <unistd.h>
#include <uv.h>

#define HTTPD_REQ_MAX 8192
#define HTTPD_HEAD_MAX 512
#define HTTPD_CHUNK (64 * 1024)
#define HTTPD_TRICKLE_MS 100
#define HTTPD_SNDBUF (64 * 1024)
#define HTTPD_HJSON "application/health+json"

enum httpd_kind {
	HTTPD_FIXED,
	HTTPD_KEEP, /* FIXED, then the connection stays open for the next request */
	HTTPD_BIG,
	HTTPD_SILENT,
	HTTPD_TRICKLE,
};

struct httpd_route {
	const char *path;
	enum httpd_kind kind;
	int status;
	const char *ctype;
	const char *body;
	const char *extra; /* extra header lines, each ending in \r\n */
};

static const struct httpd_route httpd_routes[] = {
    {"/pass", HTTPD_FIXED, 200, HTTPD_HJSON, "{\"status\":\"pass\"}", ""},
    {"/warn", HTTPD_FIXED, 200, HTTPD_HJSON,
     "{\"status\":\"warn\",\"checks\":{\"db:responseTime\":[{\"componentId\":\"pg\","
     "\"status\":\"warn\",\"observedValue\":250,\"observedUnit\":\"ms\"}]}}",
     ""},
    {"/fail", HTTPD_FIXED, 503, HTTPD_HJSON, "{\"status\":\"fail\",\"output\":\"db down\"}", ""},
    {"/plain", HTTPD_FIXED, 200, "application/json", "{\"status\":\"ok\"}", ""},
    {"/e500", HTTPD_FIXED, 500, "text/plain", "internal error", ""},
    {"/e503", HTTPD_FIXED, 503, "text/plain", "unavailable", ""},
    {"/invalid", HTTPD_FIXED, 200, HTTPD_HJSON, "{\"status\": pass}", ""},
    {"/html", HTTPD_FIXED, 200, "text/html; charset=utf-8",
     "<html><body>{\"status\":\"fail\"}</body></html>", ""},
    {"/redirect", HTTPD_FIXED, 302, "text/plain", "moved", "Location: /pass\r\n"},
    {"/big", HTTPD_BIG, 200, HTTPD_HJSON, NULL, ""},
    {"/bigstream", HTTPD_BIG, 200, HTTPD_HJSON, NULL, ""},
    {"/silent", HTTPD_SILENT, 0, NULL, NULL, ""},
    {"/trickle", HTTPD_TRICKLE, 200, HTTPD_HJSON, NULL, ""},
    {"/keepalive", HTTPD_KEEP, 200, HTTPD_HJSON, "{\"status\":\"pass\"}", ""},
};

static const struct httpd_route httpd_not_found = {"",		 HTTPD_FIXED, 404,
						   "text/plain", "not found", ""};

struct httpd_conn {
	uv_tcp_t tcp;
	uv_timer_t timer; /* /trickle only */
	struct httpd *d;
	struct httpd_conn *prev, *next;
	const struct httpd_route *route;
	char req[HTTPD_REQ_MAX];
	size_t req_len;
	char head[HTTPD_HEAD_MAX];
	char *resp; /* FIXED: the whole response */
	uv_write_t wr;
	int64_t big_sent;
	bool answered;
	bool closing;
	bool big_done;
	bool writing; /* /trickle: a uv_write_t is reused, one write at a time */
	int open_handles;
};

struct httpd {
	uv_loop_t loop;
	uv_tcp_t listener;
	uv_async_t stop;
	uv_thread_t thread;
	uv_mutex_t lock;
	uint16_t port;
	struct httpd_conn *conns;
	struct httpd_stats stats; /* guarded by lock */
};

static char httpd_chunk[HTTPD_CHUNK];

static void httpd_count(struct httpd *d, int64_t *field, int64_t by)
{
	uv_mutex_lock(&d->lock);
	*field += by;
	uv_mutex_unlock(&d->lock);
}

static void conn_freed(uv_handle_t *h)
{
	struct httpd_conn *c = h->data;
	if (--c->open_handles == 0) {
		free(c->resp);
		free(c);
	}
}

static void conn_close(struct httpd_conn *c)
{
	struct httpd *d = c->d;
	if (c->closing)
		return;
	c->closing = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->route && c->route->kind == HTTPD_BIG && !c->big_done) {
		c->big_done = true;
		httpd_count(d, &d->stats.big_ended, 1);
		httpd_count(d, &d->stats.big_cut_off, 1);
	}
	if (c->route && c->route->kind == HTTPD_TRICKLE)
		uv_close((uv_handle_t *)&c->timer, conn_freed);
	uv_close((uv_handle_t *)&c->tcp, conn_freed);
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 302:
		return "Found";
	case 404:
		return "Not Found";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	default:
		return "Status";
	}
}

static void on_fixed_written(uv_write_t *wr, int status)
{
	struct httpd_conn *c = wr->data;
	if (status < 0 || c->route->kind != HTTPD_KEEP || c->closing) {
		conn_close(c);
		return;
	}
	/* Ready for the next request on the same connection. */
	free(c->resp);
	c->resp = NULL;
	c->route = NULL;
	c->req_len = 0;
	c->req[0] = '\0';
}

static void send_fixed(struct httpd_conn *c)
{
	const struct httpd_route *r = c->route;
	size_t blen = strlen(r->body);
	int n = asprintf(&c->resp,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "%s%s\r\n%s",
			 r->status, reason_phrase(r->status), r->ctype, blen,
			 r->kind == HTTPD_KEEP ? "" : "Connection: close\r\n", r->extra, r->body);
	uv_buf_t buf;
	if (n < 0) {
		c->resp = NULL;
		conn_close(c);
		return;
	}
	buf = uv_buf_init(c->resp, (unsigned)n);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_fixed_written) != 0)
		conn_close(c);
}

static void big_write_next(struct httpd_conn *c);

static void on_big_written(uv_write_t *wr, int status)
{
	struct httpd_conn *c = wr->data;
	struct httpd *d = c->d;

	if (status < 0 || c->closing) {
		conn_close(c); /* counts the cut-off */
		return;
	}
	if (c->answered) { /* the chunk, not the head */
		c->big_sent += HTTPD_CHUNK;
		httpd_count(d, &d->stats.big_bytes_sent, HTTPD_CHUNK);
	}
	c->answered = true;
	if (c->big_sent >= HTTPD_BIG_BYTES) {
		c->big_done = true;
		httpd_count(d, &d->stats.big_ended, 1);
		conn_close(c);
		return;
	}
	big_write_next(c);
}

static void big_write_next(struct httpd_conn *c)
{
	uv_buf_t buf = uv_buf_init(httpd_chunk, HTTPD_CHUNK);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_big_written) != 0)
		conn_close(c);
}

static void send_big(struct httpd_conn *c, bool declare_length)
{
	int n = snprintf(c->head, sizeof(c->head), "HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%s",
			 c->route->ctype, declare_length ? "" : "Connection: close\r\n\r\n");
	uv_buf_t buf;
	if (declare_length)
		n += snprintf(c->head + n, sizeof(c->head) - (size_t)n,
			      "Content-Length: %d\r\nConnection: close\r\n\r\n", HTTPD_BIG_BYTES);
	buf = uv_buf_init(c->head, (unsigned)n);
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_big_written) != 0)
		conn_close(c);
}

static void on_trickle_written(uv_write_t *wr, int status)
{
	struct httpd_conn *c = wr->data;
	c->writing = false;
	if (status < 0)
		conn_close(c);
	else if (c->answered)
		httpd_count(c->d, &c->d->stats.trickle_bytes_sent, 1);
	c->answered = true;
}

static void on_trickle_tick(uv_timer_t *t)
{
	struct httpd_conn *c = t->data;
	uv_buf_t buf = uv_buf_init((char *)"x", 1);
	if (c->writing)
		return;
	c->writing = true;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_trickle_written) != 0)
		conn_close(c);
}

static void send_trickle(struct httpd_conn *c)
{
	int n = snprintf(c->head, sizeof(c->head),
			 "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: 1000\r\n"
			 "Connection: close\r\n\r\n",
			 c->route->ctype);
	uv_buf_t buf = uv_buf_init(c->head, (unsigned)n);
	c->wr.data = c;
	c->writing = true;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &buf, 1, on_trickle_written) != 0) {
		conn_close(c);
		return;
	}
	c->timer.data = c;
	uv_timer_start(&c->timer, on_trickle_tick, HTTPD_TRICKLE_MS, HTTPD_TRICKLE_MS);
}

/* Copy the value of header `name` from the request head, if present. */
static void header_value(const char *head, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = strstr(head, "\r\n");
	out[0] = '\0';
	while (p && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1;
			size_t n = 0;
			while (*v == ' ')
				v++;
			while (v[n] && v[n] != '\r' && n + 1 < cap)
				n++;
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
		p = strstr(p, "\r\n");
	}
}

static void route_request(struct httpd_conn *c)
{
	struct httpd *d = c->d;
	char path[256] = "";
	char ua[HTTPD_UA_MAX], accept[HTTPD_UA_MAX];

	c->answered = false;
	sscanf(c->req, "GET %255s HTTP/1.1", path);
	header_value(c->req, "User-Agent", ua, sizeof(ua));
	header_value(c->req, "Accept", accept, sizeof(accept));
	uv_mutex_lock(&d->lock);
	d->stats.requests++;
	snprintf(d->stats.last_user_agent, sizeof(d->stats.last_user_agent), "%s", ua);
	snprintf(d->stats.last_accept, sizeof(d->stats.last_accept), "%s", accept);
	uv_mutex_unlock(&d->lock);

	c->route = &httpd_not_found;
	for (size_t i = 0; i < sizeof(httpd_routes) / sizeof(httpd_routes[0]); i++)
		if (strcmp(path, httpd_routes[i].path) == 0)
			c->route = &httpd_routes[i];
	switch (c->route->kind) {
	case HTTPD_FIXED:
	case HTTPD_KEEP:
		send_fixed(c);
		break;
	case HTTPD_BIG:
		send_big(c, strcmp(path, "/big") == 0);
		break;
	case HTTPD_TRICKLE:
		uv_timer_init(&d->loop, &c->timer);
		c->open_handles++;
		send_trickle(c);
		break;
	case HTTPD_SILENT:
		break;
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char sink[HTTPD_REQ_MAX];
	struct httpd_conn *c = h->data;
	(void)suggested;
	/* Before the request is complete, read into the request buffer; after
	 * it, anything the peer sends is discarded. */
	if (!c->route && c->req_len + 1 < sizeof(c->req))
		*buf =
		    uv_buf_init(c->req + c->req_len, (unsigned)(sizeof(c->req) - 1 - c->req_len));
	else
		*buf = uv_buf_init(sink, sizeof(sink));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct httpd_conn *c = s->data;
	(void)buf;
	if (nread < 0) {
		if (c->route && (c->route->kind == HTTPD_SILENT || c->route->kind == HTTPD_TRICKLE))
			httpd_count(c->d, &c->d->stats.peer_hangups, 1);
		conn_close(c);
		return;
	}
	if (c->route || nread == 0)
		return;
	c->req_len += (size_t)nread;
	c->req[c->req_len] = '\0';
	if (strstr(c->req, "\r\n\r\n"))
		route_request(c);
	else if (c->req_len + 1 >= sizeof(c->req))
		conn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct httpd *d = server->data;
	struct httpd_conn *c;

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->d = d;
	uv_tcp_init(&d->loop, &c->tcp);
	c->tcp.data = c;
	c->open_handles = 1;
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
		conn_close(c);
		return;
	}
	/* A small send buffer keeps the kernel from swallowing megabytes on
	 * our behalf, so big_bytes_sent tracks what the client accepted. */
	uv_send_buffer_size((uv_handle_t *)&c->tcp, &(int){HTTPD_SNDBUF});
	httpd_count(d, &d->stats.connections, 1);
}

static void on_stop(uv_async_t *a)
{
	struct httpd *d = a->data;
	while (d->conns)
		conn_close(d->conns);
	uv_close((uv_handle_t *)&d->listener, NULL);
	uv_close((uv_handle_t *)&d->stop, NULL);
}

static void httpd_thread(void *arg)
{
	struct httpd *d = arg;
	uv_run(&d->loop, UV_RUN_DEFAULT);
}

struct httpd *httpd_start(void)
{
	struct httpd *d = calloc(1, sizeof(*d));
	struct sockaddr_in addr;
	struct sockaddr_storage bound;
	int len = sizeof(bound);

	if (!d)
		return NULL;
	/* A peer that hangs up makes our next write fail with EPIPE, which
	 * must not kill the test process. */
	signal(SIGPIPE, SIG_IGN);
	memset(httpd_chunk, 'x', sizeof(httpd_chunk));
	uv_loop_init(&d->loop);
	uv_mutex_init(&d->lock);
	uv_tcp_init(&d->loop, &d->listener);
	uv_async_init(&d->loop, &d->stop, on_stop);
	d->listener.data = d;
	d->stop.data = d;
	uv_ip4_addr("127.0.0.1", 0, &addr);
	if (uv_tcp_bind(&d->listener, (const struct sockaddr *)&addr, 0) != 0 ||
	    uv_listen((uv_stream_t *)&d->listener, 1024, on_connection) != 0 ||
	    uv_tcp_getsockname(&d->listener, (struct sockaddr *)&bound, &len) != 0) {
		on_stop(&d->stop);
		uv_run(&d->loop, UV_RUN_DEFAULT);
		uv_loop_close(&d->loop);
		uv_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	d->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	if (uv_thread_create(&d->thread, httpd_thread, d) != 0) {
		on_stop(&d->stop);
		uv_run(&d->loop, UV_RUN_DEFAULT);
		uv_loop_close(&d->loop);
		uv_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	return d;
}

uint16_t httpd_port(const struct httpd *d)
{
	return d->port;
}

void httpd_get_stats(struct httpd *d, struct httpd_stats *out)
{
	uv_mutex_lock(&d->lock);
	*out = d->stats;
	uv_mutex_unlock(&d->lock);
}

int httpd_stop(struct httpd *d)
{
	int rc;
	uv_async_send(&d->stop);
	uv_thread_join(&d->thread);
	rc = uv_loop_close(&d->loop);
	uv_mutex_destroy(&d->lock);
	free(d);
	return rc;
}

int httpd_refusing_socket(uint16_t *port)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(addr.sin_port);
	return fd;
}

int httpd_blackhole_open(struct httpd_blackhole *b)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	b->fillers[0] = b->fillers[1] = -1;
	b->listen_fd = httpd_refusing_socket(&b->port);
	/* Backlog 0: one completed connection fills the accept queue. */
	if (b->listen_fd < 0 || listen(b->listen_fd, 0) != 0)
		goto fail;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(b->port);
	for (int i = 0; i < 2; i++) {
		b->fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (b->fillers[i] < 0)
			goto fail;
		if (connect(b->fillers[i], (struct sockaddr *)&addr, len) != 0 &&
		    errno != EINPROGRESS)
			goto fail;
	}
	return 0;
fail:
	httpd_blackhole_close(b);
	return -1;
}

void httpd_blackhole_close(struct httpd_blackhole *b)
{
	for (int i = 0; i < 2; i++)
		if (b->fillers[i] >= 0)
			close(b->fillers[i]);
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	b->listen_fd = b->fillers[0] = b->fillers[1] = -1;
}
