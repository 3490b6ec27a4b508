/* http.c — libcurl multi interface on libuv (recipe: curl's
 * docs/examples/multi-uv.c; pitfalls: shared/reference/c-event-loop-patterns.md
 * section 3).
 *
 * Re-entrancy rule: curl calls us back (socket, timer, write) from inside
 * curl_multi_* functions, where calling curl_multi_* again is an error. Those
 * callbacks therefore only touch uv handles and buffers; user callbacks run
 * only from check_multi_info() and from our own timer, outside any curl call. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

#ifndef OV_VERSION
#define OV_VERSION "0"
#endif

#define HTTP_USER_AGENT "overseer/" OV_VERSION
#define HTTP_ACCEPT "Accept: application/health+json, application/json;q=0.9, */*;q=0.1"
#define HTTP_PROTOCOLS "http,https" /* never file://, ftp://, gopher://... */
#define HTTP_BODY_CHUNK 4096	    /* first body allocation; doubled up to the cap */

_Static_assert(HTTP_ERROR_MAX >= CURL_ERROR_SIZE, "curl's error buffer must fit");

struct http_sock {
	uv_poll_t poll;
	struct http *h;
	curl_socket_t fd;
	struct http_sock *prev, *next;
};

struct http_xfer {
	struct http_xfer *prev, *next;
	struct http *h;
	CURL *easy;
	http_done_cb cb;
	void *ctx;
	uint64_t start_ns;
	char *body; /* body_cap + 1 bytes, NUL-terminated */
	size_t body_len, body_cap, body_max;
	bool too_large;
	bool oom;
	char errbuf[CURL_ERROR_SIZE];
	struct http_result res;
};

struct http {
	uv_loop_t *loop;
	CURLM *multi;
	struct curl_slist *headers;
	uv_timer_t curl_timer; /* curl's one timeout */
	uv_timer_t deliver;    /* runs callbacks of cancelled transfers */
	struct http_xfer *inflight;
	struct http_xfer *done; /* results waiting for delivery (cancelled) */
	struct http_sock *socks;
	size_t n_inflight;
	uint64_t next_id;
	int open_handles; /* uv handles whose close callback has not run */
	bool closing;
	http_close_cb close_cb;
	void *close_ctx;
};

/* ---- global initialisation --------------------------------------------- */

static uv_once_t global_once = UV_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small lists ------------------------------------------------------- */

static void xfer_push(struct http_xfer **head, struct http_xfer *x)
{
	x->prev = NULL;
	x->next = *head;
	if (*head)
		(*head)->prev = x;
	*head = x;
}

static void xfer_unlink(struct http_xfer **head, struct http_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		*head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	x->prev = x->next = NULL;
}

static void sock_unlink(struct http *h, struct http_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

/* ---- closing ----------------------------------------------------------- */

static void xfer_deliver(struct http_xfer *x)
{
	x->res.body = x->body ? x->body : "";
	x->res.body_len = x->body_len;
	x->cb(&x->res, x->ctx);
	free(x->body);
	free(x);
}

static void deliver_done(struct http *h)
{
	struct http_xfer *x;
	while ((x = h->done) != NULL) {
		xfer_unlink(&h->done, x);
		xfer_deliver(x);
	}
}

/* Runs when the last uv handle of a closing client is gone. */
static void http_finish_close(struct http *h)
{
	deliver_done(h);
	curl_slist_free_all(h->headers);
	if (h->close_cb)
		h->close_cb(h, h->close_ctx);
	free(h);
}

static void on_handle_closed(uv_handle_t *handle)
{
	struct http *h = handle->data;
	if (--h->open_handles == 0 && h->closing)
		http_finish_close(h);
}

static void on_sock_closed(uv_handle_t *handle)
{
	struct http_sock *s = (struct http_sock *)handle;
	struct http *h = s->h;
	free(s);
	if (--h->open_handles == 0 && h->closing)
		http_finish_close(h);
}

static void sock_close(struct http *h, struct http_sock *s)
{
	sock_unlink(h, s);
	/* uv_close stops the watcher now: the fd may be closed (and its number
	 * reused) by curl as soon as we return. */
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* ---- results ----------------------------------------------------------- */

static void result_set_error(struct http_result *r, const char *msg)
{
	sanitize_display(r->error, sizeof(r->error), msg, strlen(msg));
}

/* Read what curl knows about the transfer into x->res (before cleanup). */
static void xfer_read_info(struct http_xfer *x)
{
	long code = 0;
	char *ct = NULL;
	curl_off_t total_us = 0;

	if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0 &&
	    code < 1000)
		x->res.http_status = (int)code;
	if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		sanitize_display(x->res.content_type, sizeof(x->res.content_type), ct, strlen(ct));
	if (curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK)
		x->res.latency_us = (int64_t)total_us;
}

static bool xfer_connected(struct http_xfer *x)
{
	curl_off_t ct = 0;
	return curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &ct) == CURLE_OK && ct > 0;
}

static void xfer_complete(struct http_xfer *x, CURLcode rc)
{
	struct http_result *r = &x->res;
	char msg[HTTP_ERROR_MAX];

	xfer_read_info(x);
	/* Two ways to hit the cap: curl refuses a declared Content-Length above
	 * CURLOPT_MAXFILESIZE (FILESIZE_EXCEEDED), or our write callback sees
	 * the bytes pile up (WRITE_ERROR). Both are the same fact. */
	if (x->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		r->body_too_large = true;
		r->curl_code = CURLE_FILESIZE_EXCEEDED;
		snprintf(msg, sizeof(msg), "body too large (>%zu bytes)", x->body_max);
		result_set_error(r, msg);
	} else if (x->oom) {
		r->curl_code = CURLE_OUT_OF_MEMORY;
		result_set_error(r, "out of memory buffering the body");
	} else if ((rc == CURLE_OUT_OF_MEMORY || rc == CURLE_UNSUPPORTED_PROTOCOL) &&
		   xfer_connected(x)) {
		/* Once connected these are the peer's doing, not ours or the
		 * config's: a reply that is not HTTP/1.x, or headers past
		 * libcurl's 100 KB limit (which libcurl 7.88 calls out of memory). */
		r->curl_code = (int)rc;
		result_set_error(r, rc == CURLE_OUT_OF_MEMORY
					? "response headers too large"
					: (x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc)));
		r->verdict = errclass_verdict_of(ERRCLASS_EXTERNAL);
		return;
	} else if (rc != CURLE_OK) {
		r->curl_code = (int)rc;
		result_set_error(r, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	} else {
		r->ok = true;
		r->verdict = errclass_from_http_status(r->http_status);
		return;
	}
	r->verdict = errclass_from_curl(r->curl_code);
}

static void xfer_mark_cancelled(struct http_xfer *x, enum errclass cls, const char *why)
{
	xfer_read_info(x);
	x->res.cancelled = true;
	x->res.latency_us = (int64_t)((uv_hrtime() - x->start_ns) / 1000);
	x->res.verdict = errclass_verdict_of(cls);
	result_set_error(&x->res, why);
}

/* Take the easy handle out of curl and free it; the connection it used is
 * closed, since a half-finished response cannot be reused. */
static void xfer_detach(struct http *h, struct http_xfer *x)
{
	xfer_unlink(&h->inflight, x);
	h->n_inflight--;
	curl_multi_remove_handle(h->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
}

/* Deliver every finished transfer. Called after each curl_multi_socket_action
 * (never from inside curl); stops if a user callback closes the client. */
static void check_multi_info(struct http *h)
{
	CURLMsg *msg;
	int pending;

	while (!h->closing && (msg = curl_multi_info_read(h->multi, &pending)) != NULL) {
		struct http_xfer *x;
		char *priv = NULL;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		x = (struct http_xfer *)(void *)priv;
		/* msg belongs to curl and dies with the handle: read it first. */
		xfer_complete(x, rc);
		xfer_detach(h, x);
		xfer_deliver(x);
	}
}

/* ---- curl -> uv -------------------------------------------------------- */

static void on_poll(uv_poll_t *poll, int status, int events)
{
	struct http_sock *s = (struct http_sock *)poll;
	struct http *h = s->h;
	int flags = 0;
	int running;

	if (h->closing)
		return;
	if (status < 0)
		flags = CURL_CSELECT_ERR; /* POLLERR arrives as EBADF in libuv */
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_multi_info(h);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct http_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			sock_close(h, s);
			if (!h->closing)
				curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (h->closing)
		return 0; /* curl_multi_cleanup is running: nothing new to watch */
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->h = h;
		s->fd = fd;
		s->next = h->socks;
		if (h->socks)
			h->socks->prev = s;
		h->socks = s;
		h->open_handles++;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	/* Level-triggered: only what curl asked for, never a stale WRITABLE. */
	if (events)
		return uv_poll_start(&s->poll, events, on_poll) == 0 ? 0 : -1;
	uv_poll_stop(&s->poll);
	return 0;
}

static void on_curl_timer_fire(uv_timer_t *t)
{
	struct http *h = t->data;
	int running;

	if (h->closing)
		return;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(h);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (h->closing)
		return 0;
	/* Only arm the timer here: calling curl from this callback is an error. */
	if (timeout_ms < 0)
		uv_timer_stop(&h->curl_timer);
	else
		uv_timer_start(&h->curl_timer, on_curl_timer_fire, (uint64_t)timeout_ms, 0);
	return 0;
}

static void on_deliver(uv_timer_t *t)
{
	struct http *h = t->data;
	struct http_xfer *x;

	/* One at a time: a callback may close the client, and then the close
	 * path delivers the rest. */
	while (!h->closing && (x = h->done) != NULL) {
		xfer_unlink(&h->done, x);
		xfer_deliver(x);
	}
}

/* ---- body -------------------------------------------------------------- */

static bool body_reserve(struct http_xfer *x, size_t need)
{
	size_t cap = x->body_cap ? x->body_cap : HTTP_BODY_CHUNK;
	char *p;

	if (need <= x->body_cap)
		return true;
	while (cap < need)
		cap *= 2;
	if (cap > x->body_max)
		cap = x->body_max;
	p = realloc(x->body, cap + 1);
	if (!p)
		return false;
	x->body = p;
	x->body_cap = cap;
	return true;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_xfer *x = userp;
	size_t n = size * nmemb;
	size_t take = n;

	if (x->body_len + n > x->body_max) {
		/* Keep what fits (for diagnostics) and stop the transfer:
		 * returning less than n makes curl abort and close. */
		take = x->body_max - x->body_len;
		x->too_large = true;
	}
	if (!body_reserve(x, x->body_len + take)) {
		x->oom = true;
		return 0;
	}
	memcpy(x->body + x->body_len, data, take);
	x->body_len += take;
	x->body[x->body_len] = '\0';
	return x->too_large ? 0 : n;
}

/* ---- public API -------------------------------------------------------- */

struct http *http_new(uv_loop_t *loop, struct ov_error *err)
{
	const curl_version_info_data *vi;
	struct http *h;

	uv_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		ov_error_set(err, EIO, "curl_global_init: %s", curl_easy_strerror(global_rc));
		return NULL;
	}
	vi = curl_version_info(CURLVERSION_NOW);
	if (!(vi->features & CURL_VERSION_ASYNCHDNS)) {
		ov_error_set(err, ENOTSUP,
			     "libcurl %s lacks asynchronous DNS: lookups would block the loop",
			     vi->version);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		ov_error_set(err, ENOMEM, "out of memory");
		return NULL;
	}
	h->loop = loop;
	h->next_id = 1;
	h->multi = curl_multi_init();
	h->headers = curl_slist_append(NULL, HTTP_ACCEPT);
	if (!h->multi || !h->headers) {
		if (h->multi)
			curl_multi_cleanup(h->multi);
		curl_slist_free_all(h->headers);
		free(h);
		ov_error_set(err, ENOMEM, "curl_multi_init failed");
		return NULL;
	}
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)HTTP_CONN_CACHE_MAX);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
	uv_timer_init(loop, &h->curl_timer);
	uv_timer_init(loop, &h->deliver);
	h->curl_timer.data = h;
	h->deliver.data = h;
	h->open_handles = 2;
	return h;
}

static int request_check(const struct http_request *req, struct ov_error *err)
{
	size_t len;

	if (!req || !req->url || req->url[0] == '\0')
		return ov_error_set(err, EINVAL, "no URL");
	len = strnlen(req->url, HTTP_URL_MAX);
	if (len >= HTTP_URL_MAX)
		return ov_error_set(err, EINVAL, "URL longer than %d bytes", HTTP_URL_MAX - 1);
	if (req->connect_timeout_ms < 0 || req->total_timeout_ms < 0)
		return ov_error_set(err, EINVAL, "negative timeout");
	if (req->max_body > HTTP_BODY_MAX_LIMIT)
		return ov_error_set(err, EINVAL, "body cap %zu above the limit %d", req->max_body,
				    HTTP_BODY_MAX_LIMIT);
	if (req->max_redirects < 0 || req->max_redirects > HTTP_REDIRECTS_LIMIT)
		return ov_error_set(err, EINVAL, "max_redirects %d outside 0..%d",
				    req->max_redirects, HTTP_REDIRECTS_LIMIT);
	return 0;
}

static long ms_or(int64_t ms, long dflt)
{
	if (ms == 0)
		return dflt;
	return ms > LONG_MAX ? LONG_MAX : (long)ms;
}

/* Configure an easy handle; returns the first option curl refused. */
static CURLcode easy_setup(struct http_xfer *x, const struct http_request *req)
{
	CURL *e = x->easy;
	bool verify = !req->tls_insecure;
	CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (rc == CURLE_OK)                                                                \
			rc = curl_easy_setopt(e, opt, val);                                        \
	} while (0)
	SET(CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the _STR options */
	SET(CURLOPT_PROTOCOLS_STR, HTTP_PROTOCOLS);
	SET(CURLOPT_REDIR_PROTOCOLS_STR, HTTP_PROTOCOLS);
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SET(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_FOLLOWLOCATION, req->max_redirects > 0 ? 1L : 0L);
	SET(CURLOPT_MAXREDIRS, (long)req->max_redirects);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_NOPROGRESS, 1L);
	SET(CURLOPT_VERBOSE, 0L);
	SET(CURLOPT_USERAGENT, HTTP_USER_AGENT);
	SET(CURLOPT_HTTPHEADER, x->h->headers);
	SET(CURLOPT_CONNECTTIMEOUT_MS,
	    ms_or(req->connect_timeout_ms, HTTP_CONNECT_TIMEOUT_DEFAULT_MS));
	SET(CURLOPT_TIMEOUT_MS, ms_or(req->total_timeout_ms, HTTP_TOTAL_TIMEOUT_DEFAULT_MS));
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->body_max);
	SET(CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	SET(CURLOPT_WRITEFUNCTION, on_write);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_ERRORBUFFER, x->errbuf);
	SET(CURLOPT_PRIVATE, (char *)x);
#undef SET
	return rc;
}

int http_get(struct http *h, const struct http_request *req, http_done_cb cb, void *ctx,
	     uint64_t *id, struct ov_error *err)
{
	struct http_xfer *x;
	CURLcode rc;
	CURLMcode mrc;
	int ret;

	if (h->closing)
		return ov_error_set(err, ESHUTDOWN, "HTTP client is closing");
	if (!cb)
		return ov_error_set(err, EINVAL, "no callback");
	ret = request_check(req, err);
	if (ret < 0)
		return ret;
	if (h->n_inflight >= HTTP_INFLIGHT_MAX)
		return ov_error_set(err, EAGAIN, "%d transfers already in flight",
				    HTTP_INFLIGHT_MAX);
	x = calloc(1, sizeof(*x));
	if (!x)
		return ov_error_set(err, ENOMEM, "out of memory");
	x->h = h;
	x->cb = cb;
	x->ctx = ctx;
	x->body_max = req->max_body ? req->max_body : HTTP_BODY_MAX_DEFAULT;
	x->easy = curl_easy_init();
	if (!x->easy) {
		free(x);
		return ov_error_set(err, ENOMEM, "curl_easy_init failed");
	}
	rc = easy_setup(x, req);
	if (rc != CURLE_OK) {
		curl_easy_cleanup(x->easy);
		free(x);
		return ov_error_set(err, EINVAL, "curl option refused: %s", curl_easy_strerror(rc));
	}
	x->res.id = h->next_id++;
	x->start_ns = uv_hrtime();
	mrc = curl_multi_add_handle(h->multi, x->easy);
	if (mrc != CURLM_OK) {
		curl_easy_cleanup(x->easy);
		free(x);
		return ov_error_set(err, EIO, "curl_multi_add_handle: %s",
				    curl_multi_strerror(mrc));
	}
	xfer_push(&h->inflight, x);
	h->n_inflight++;
	if (id)
		*id = x->res.id;
	return 0;
}

int http_cancel(struct http *h, uint64_t id)
{
	struct http_xfer *x;

	if (h->closing)
		return -ENOENT;
	for (x = h->inflight; x; x = x->next)
		if (x->res.id == id)
			break;
	if (!x)
		return -ENOENT;
	xfer_mark_cancelled(x, ERRCLASS_TIMEOUT, "cancelled");
	xfer_detach(h, x);
	xfer_push(&h->done, x);
	/* Never call back from inside http_cancel: the caller may hold state
	 * its callback would change. */
	uv_timer_start(&h->deliver, on_deliver, 0, 0);
	return 0;
}

size_t http_in_flight(const struct http *h)
{
	size_t n = h->n_inflight;
	for (const struct http_xfer *x = h->done; x; x = x->next)
		n++;
	return n;
}

void http_close(struct http *h, http_close_cb cb, void *ctx)
{
	struct http_xfer *x;

	if (h->closing)
		return;
	h->closing = true;
	h->close_cb = cb;
	h->close_ctx = ctx;
	while ((x = h->inflight) != NULL) {
		xfer_mark_cancelled(x, ERRCLASS_INTERNAL, "client closed");
		xfer_detach(h, x);
		xfer_push(&h->done, x);
	}
	/* curl may still report sockets (cached connections) during cleanup;
	 * on_curl_socket closes their watchers. */
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	while (h->socks)
		sock_close(h, h->socks);
	uv_close((uv_handle_t *)&h->curl_timer, on_handle_closed);
	uv_close((uv_handle_t *)&h->deliver, on_handle_closed);
}
