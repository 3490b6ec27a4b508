/* fleet_http.c — HTTP health endpoints on 127.0.0.1, served with libuv TCP.
 *
 * Each endpoint answers GET /health (and /) with application/health+json
 * (draft-inadarei-api-health-check): "pass" and "warn" with 200, "fail"
 * with 503, a check per component. The first endpoint ("api") also checks
 * the fleet's own database connection, so a database outage fails it, as it
 * would a real API. Chaos sets a mode per endpoint: warn, fail, slow (pass
 * after a delay), silent (reads the request, never answers) or down (the
 * listening socket is closed: connection refused).
 *
 * One request per connection (Connection: close); the request head is
 * bounded, and so is the number of connections held open. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleet.h"

#define HTTP_REQ_MAX 8192
#define HTTP_RESP_MAX 4096
#define HTTP_CONNS_MAX 256
#define HTTP_BACKLOG 128
#define HTTP_SLOW_DEFAULT_MS 3000

static const char *const ep_names[FLEET_HTTP_MAX] = {"api",   "gateway", "scheduler", "webhooks",
						     "admin", "search",	 "billing",   "metrics"};
static const char *const mode_names[FLEET_HTTP_MODE_COUNT] = {"pass", "warn",	"fail",
							      "slow", "silent", "down"};

struct fleet_http;

struct ep {
	struct fleet_http *h;
	int idx;
	int port; /* the bound one */
	uv_tcp_t srv;
	bool listening, srv_closing, relisten;
	enum fleet_http_mode mode;
	int64_t slow_ms;
	int64_t until_ms; /* back to pass then; 0: stays */
	int nconn;
	uint64_t served, answered_fail, accepted;
};

struct hconn {
	struct hconn *prev, *next; /* fleet_http.conns */
	uv_tcp_t tcp;
	uv_timer_t delay;
	uv_write_t wr;
	struct ep *ep;
	size_t len;
	bool head_done, answering;
	int closing;
	char req[HTTP_REQ_MAX];
	char resp[HTTP_RESP_MAX];
};

struct fleet_http {
	struct fleet *f;
	int n;
	struct ep ep[FLEET_HTTP_MAX];
	int open; /* handles not yet closed (servers, connections) */
	struct hconn *conns;
	void (*closed_cb)(struct fleet *f);
	bool closing;
};

static void maybe_all_closed(struct fleet_http *h)
{
	if (h->closing && h->open == 0) {
		void (*cb)(struct fleet * f) = h->closed_cb;
		struct fleet *f = h->f;
		f->http = NULL;
		free(h);
		if (cb)
			cb(f);
	}
}

static void conn_closed(uv_handle_t *hd)
{
	struct hconn *c = hd->data;
	struct fleet_http *h = c->ep->h;

	if (--c->closing)
		return;
	c->ep->nconn--;
	if (c->prev)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c);
	h->open--;
	maybe_all_closed(h);
}

static void conn_close(struct hconn *c)
{
	if (c->closing)
		return;
	c->closing = 2;
	uv_close((uv_handle_t *)&c->tcp, conn_closed);
	uv_close((uv_handle_t *)&c->delay, conn_closed);
}

static const char *check_status(bool ok)
{
	return ok ? "pass" : "fail";
}

/* The body for the endpoint's current state; returns the HTTP status. */
static int health_body(struct ep *e, char *out, size_t n)
{
	struct fleet *f = e->h->f;
	json_t *checks = json_object(), *body;
	const char *status = e->mode == FLEET_HTTP_WARN	  ? "warn"
			     : e->mode == FLEET_HTTP_FAIL ? "fail"
							  : "pass";
	const char *output = e->mode == FLEET_HTTP_WARN	  ? "degraded on request (fleet chaos)"
			     : e->mode == FLEET_HTTP_FAIL ? "failing on request (fleet chaos)"
							  : "";
	int beating = 0;
	char ts[40];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	for (int i = 0; i < f->o.supervisors; i++)
		beating += !f->hb_stopped[i];
	if (e->idx == 0) {
		bool db = fleet_conn_up(f->flow_conn);
		json_object_set_new(checks, "postgres:connection",
				    json_pack("[{s:s,s:s,s:s,s:s}]", "componentType", "datastore",
					      "status", check_status(db), "observedValue",
					      db ? "connected" : "unreachable", "time", ts));
		if (!db && e->mode != FLEET_HTTP_FAIL) {
			status = "fail";
			output = "database unreachable";
		}
	}
	json_object_set_new(checks, "workers:heartbeating",
			    json_pack("[{s:s,s:i,s:s,s:s,s:s}]", "componentType", "component",
				      "observedValue", beating, "observedUnit", "workers", "status",
				      beating ? "pass" : "warn", "time", ts));
	json_object_set_new(checks, "uptime",
			    json_pack("[{s:s,s:I,s:s,s:s}]", "componentType", "system",
				      "observedValue",
				      (json_int_t)((fleet_now_ms(f) - f->started_ms) / 1000),
				      "observedUnit", "s", "status", "pass"));
	body = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "status", status, "version", "1", "releaseId",
			 OV_VERSION, "serviceId", ep_names[e->idx], "description",
			 "fleet health endpoint", "checks", checks);
	if (output[0])
		json_object_set_new(body, "output", json_string(output));
	if (json_dumpb(body, out, n, JSON_COMPACT) >= n)
		snprintf(out, n, "{\"status\":\"%s\"}", status);
	else
		out[json_dumpb(body, out, n, JSON_COMPACT)] = '\0';
	json_decref(body);
	return strcmp(status, "fail") == 0 ? 503 : 200;
}

static void write_done(uv_write_t *wr, int status)
{
	struct hconn *c = wr->data;

	(void)status;
	conn_close(c);
}

static void answer(struct hconn *c)
{
	char body[HTTP_RESP_MAX / 2];
	int code = 404;
	size_t n;
	const char *ctype = "application/health+json";

	if (c->answering || c->closing)
		return;
	c->answering = true;
	if (strncmp(c->req, "GET /health ", 12) == 0 || strncmp(c->req, "GET / ", 6) == 0 ||
	    strncmp(c->req, "HEAD /health ", 13) == 0) {
		code = health_body(c->ep, body, sizeof(body));
	} else {
		snprintf(body, sizeof(body), "{\"error\":\"not found: try GET /health\"}");
		ctype = "application/json";
	}
	c->ep->served++;
	c->ep->answered_fail += code == 503;
	n = (size_t)snprintf(c->resp, sizeof(c->resp),
			     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			     "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
			     code,
			     code == 200   ? "OK"
			     : code == 503 ? "Service Unavailable"
					   : "Not Found",
			     ctype, strlen(body), body);
	uv_buf_t b =
	    uv_buf_init(c->resp, (unsigned)(n < sizeof(c->resp) ? n : sizeof(c->resp) - 1));
	c->wr.data = c;
	if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, &b, 1, write_done) < 0)
		conn_close(c);
}

static void delay_done(uv_timer_t *t)
{
	answer(t->data);
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	struct hconn *c = hd->data;
	static char sink[512]; /* a silent endpoint keeps reading, discarding */

	(void)suggested;
	if (c->head_done)
		*buf = uv_buf_init(sink, sizeof(sink));
	else
		*buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct hconn *c = s->data;

	(void)buf;
	if (nread < 0) { /* EOF or error: the client gave up */
		conn_close(c);
		return;
	}
	if (c->head_done || nread == 0)
		return;
	c->len += (size_t)nread;
	c->req[c->len] = '\0';
	if (!strstr(c->req, "\r\n\r\n")) {
		if (c->len >= sizeof(c->req) - 1)
			conn_close(c); /* header too large: not worth an answer */
		return;
	}
	c->head_done = true;
	switch (c->ep->mode) {
	case FLEET_HTTP_SILENT:
		return;
	case FLEET_HTTP_SLOW:
		uv_timer_start(&c->delay, delay_done, (uint64_t)c->ep->slow_ms, 0);
		return;
	default:
		answer(c);
	}
}

static void on_connection(uv_stream_t *srv, int status)
{
	struct ep *e = srv->data;
	struct fleet_http *h = e->h;
	struct hconn *c;

	if (status < 0 || h->closing)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->ep = e;
	uv_tcp_init(h->f->loop, &c->tcp);
	uv_timer_init(h->f->loop, &c->delay);
	c->tcp.data = c->delay.data = c;
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->open++;
	e->nconn++;
	e->accepted++;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0 || e->nconn > HTTP_CONNS_MAX ||
	    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
		conn_close(c);
}

static void srv_closed(uv_handle_t *hd);

static int ep_listen(struct ep *e, char *msg, size_t msglen)
{
	struct fleet_http *h = e->h;
	struct sockaddr_in addr;
	struct sockaddr_storage got;
	int len = sizeof(got), rc;

	uv_tcp_init(h->f->loop, &e->srv);
	e->srv.data = e;
	h->open++;
	uv_ip4_addr("127.0.0.1", e->port, &addr);
	rc = uv_tcp_bind(&e->srv, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&e->srv, HTTP_BACKLOG, on_connection);
	if (rc < 0) {
		snprintf(msg, msglen, "health endpoint %s: 127.0.0.1:%d: %s", ep_names[e->idx],
			 e->port, uv_strerror(rc));
		e->srv_closing = true;
		e->relisten = false;
		uv_close((uv_handle_t *)&e->srv, srv_closed);
		return rc;
	}
	uv_tcp_getsockname(&e->srv, (struct sockaddr *)&got, &len);
	e->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
	e->listening = true;
	return 0;
}

static void srv_closed(uv_handle_t *hd)
{
	struct ep *e = hd->data;
	struct fleet_http *h = e->h;
	char msg[FLEET_MSG_MAX];

	e->srv_closing = false;
	h->open--;
	/* The mode changed back while the socket was closing: listen again. */
	if (!h->closing && e->relisten && e->mode != FLEET_HTTP_DOWN) {
		e->relisten = false;
		if (ep_listen(e, msg, sizeof(msg)) < 0)
			fleet_warn(h->f, "%s", msg);
	}
	maybe_all_closed(h);
}

static void ep_unlisten(struct ep *e)
{
	if (!e->listening)
		return;
	e->listening = false;
	e->srv_closing = true;
	uv_close((uv_handle_t *)&e->srv, srv_closed);
}

static void set_mode(struct ep *e, enum fleet_http_mode m)
{
	char msg[FLEET_MSG_MAX];

	e->mode = m;
	if (m == FLEET_HTTP_DOWN) {
		e->relisten = false;
		ep_unlisten(e);
	} else if (e->srv_closing) {
		e->relisten = true;
	} else if (!e->listening && ep_listen(e, msg, sizeof(msg)) < 0) {
		fleet_warn(e->h->f, "%s", msg);
	}
}

int fleet_http_set_mode(struct fleet *f, const char *name, const char *mode, int64_t slow_ms,
			int64_t until_ms, char *msg, size_t msglen)
{
	struct fleet_http *h = f->http;
	int m = -1;

	for (int i = 0; i < FLEET_HTTP_MODE_COUNT; i++)
		if (strcmp(mode, mode_names[i]) == 0)
			m = i;
	if (m < 0) {
		snprintf(msg, msglen, "unknown mode '%s' (pass, warn, fail, slow, silent, down)",
			 mode);
		return -EINVAL;
	}
	for (int i = 0; i < h->n; i++) {
		struct ep *e = &h->ep[i];
		if (strcmp(ep_names[i], name) != 0)
			continue;
		e->slow_ms = slow_ms > 0 ? slow_ms : HTTP_SLOW_DEFAULT_MS;
		e->until_ms = until_ms;
		set_mode(e, (enum fleet_http_mode)m);
		snprintf(msg, msglen, "health endpoint %s (port %d) is now %s", name, e->port,
			 mode_names[m]);
		return 0;
	}
	snprintf(msg, msglen, "no health endpoint '%s'", name);
	return -ENOENT;
}

void fleet_http_tick(struct fleet *f, int64_t now_ms)
{
	struct fleet_http *h = f->http;

	for (int i = 0; h && !h->closing && i < h->n; i++) {
		struct ep *e = &h->ep[i];
		if (e->until_ms && e->until_ms <= now_ms) {
			e->until_ms = 0;
			set_mode(e, FLEET_HTTP_PASS);
			fleet_log(f, "health endpoint %s back to pass", ep_names[i]);
		}
	}
}

int fleet_http_new(struct fleet *f)
{
	struct fleet_http *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->f = f;
	h->n = f->o.n_http;
	for (int i = 0; i < h->n; i++) {
		h->ep[i].h = h;
		h->ep[i].idx = i;
		h->ep[i].port = f->o.http_port[i];
	}
	f->http = h;
	return 0;
}

int fleet_http_start(struct fleet *f, char *msg, size_t msglen)
{
	struct fleet_http *h = f->http;

	for (int i = 0; i < h->n; i++) {
		int rc = ep_listen(&h->ep[i], msg, msglen);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int fleet_http_count(const struct fleet *f)
{
	return f->http ? f->http->n : 0;
}

const char *fleet_http_name(const struct fleet *f, int i)
{
	(void)f;
	return ep_names[i];
}

int fleet_http_port(const struct fleet *f, int i)
{
	return f->http->ep[i].port;
}

void fleet_http_status(struct fleet *f, json_t *out)
{
	struct fleet_http *h = f->http;
	json_t *arr = json_array();

	for (int i = 0; h && i < h->n; i++) {
		struct ep *e = &h->ep[i];
		char url[64];
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", e->port);
		json_array_append_new(
		    arr, json_pack("{s:s,s:s,s:i,s:s,s:b,s:I,s:I,s:i}", "name", ep_names[i], "url",
				   url, "port", e->port, "mode", mode_names[e->mode], "listening",
				   e->listening, "served", (json_int_t)e->served, "failed",
				   (json_int_t)e->answered_fail, "connections", e->nconn));
	}
	json_object_set_new(out, "health", arr);
}

void fleet_http_close(struct fleet *f, void (*cb)(struct fleet *f))
{
	struct fleet_http *h = f->http;

	if (!h) {
		if (cb)
			cb(f);
		return;
	}
	h->closing = true;
	h->closed_cb = cb;
	for (int i = 0; i < h->n; i++)
		ep_unlisten(&h->ep[i]);
	for (struct hconn *c = h->conns; c; c = c->next)
		conn_close(c);
	maybe_all_closed(h);
}
