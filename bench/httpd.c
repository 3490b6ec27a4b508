/* httpd.c — the "many targets" benchmark's health endpoints, on loopback.
 *
 * One libuv server on 127.0.0.1:PORT answers every GET with 200 "ok" and
 * closes the connection. A request for /t/N is recorded as (N, arrival
 * time in monotonic ms); after SECONDS the server stops and prints one
 * "N MS" line per request, so the benchmark can compute how late each poll
 * came against its target's schedule.
 *
 *   httpd PORT SECONDS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define HTTPD_REQ_MAX 2048	 /* request head bytes read at most */
#define HTTPD_RECORDS_MAX 400000 /* requests recorded at most */
#define HTTPD_BACKLOG 1024

struct conn {
	uv_tcp_t tcp;
	uv_write_t wr;
	char buf[HTTPD_REQ_MAX];
	size_t len;
	int answered;
};

struct rec {
	int target;
	int64_t ms;
};

static struct rec *recs;
static size_t nrecs;
static uv_loop_t *loop;
static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
			    "Connection: close\r\n\r\nok";

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

static void on_written(uv_write_t *w, int status)
{
	(void)status;
	struct conn *c = w->data;
	uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)hint;
	struct conn *c = h->data;
	*b = uv_buf_init(c->buf + c->len, (unsigned)(HTTPD_REQ_MAX - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	struct conn *c = s->data;
	if (n < 0 || (n == 0 && c->len >= HTTPD_REQ_MAX - 1)) {
		if (!uv_is_closing((uv_handle_t *)s))
			uv_close((uv_handle_t *)s, on_closed);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	if (c->answered || !strstr(c->buf, "\r\n\r\n"))
		return;
	c->answered = 1;
	uv_read_stop(s);
	const char *p = strstr(c->buf, " /t/");
	if (p && nrecs < HTTPD_RECORDS_MAX) {
		recs[nrecs].target = atoi(p + 4);
		recs[nrecs].ms = (int64_t)(uv_hrtime() / 1000000);
		nrecs++;
	}
	uv_buf_t out = uv_buf_init((char *)reply, sizeof(reply) - 1);
	c->wr.data = c;
	if (uv_write(&c->wr, s, &out, 1, on_written) < 0)
		uv_close((uv_handle_t *)s, on_closed);
}

static void on_conn(uv_stream_t *srv, int status)
{
	if (status < 0)
		return;
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	uv_tcp_init(loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	else
		uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_stop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: httpd PORT SECONDS\n");
		return 3;
	}
	recs = calloc(HTTPD_RECORDS_MAX, sizeof(*recs));
	if (!recs)
		return 1;
	loop = uv_default_loop();
	uv_tcp_t srv;
	struct sockaddr_in addr;
	uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
	uv_tcp_init(loop, &srv);
	int rc = uv_tcp_bind(&srv, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv, HTTPD_BACKLOG, on_conn);
	if (rc < 0) {
		fprintf(stderr, "httpd: %s\n", uv_strerror(rc));
		return 1;
	}
	uv_timer_t stop;
	uv_timer_init(loop, &stop);
	uv_timer_start(&stop, on_stop, (uint64_t)(atof(argv[2]) * 1000), 0);
	uv_run(loop, UV_RUN_DEFAULT);
	for (size_t i = 0; i < nrecs; i++)
		printf("%d %lld\n", recs[i].target, (long long)recs[i].ms);
	return 0;
}
