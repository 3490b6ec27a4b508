/* http.h — concurrent HTTP GETs on the libuv loop (libcurl multi interface).
 *
 * One `struct http` drives any number of transfers on one uv_loop_t: curl's
 * sockets are watched with one uv_poll_t each (created and destroyed from
 * curl's socket callback) and curl's single timeout with one uv_timer_t.
 * Nothing blocks the loop (DNS included: http_new refuses a libcurl without
 * asynchronous DNS), so a hung target never delays another one.
 *
 * Every transfer has a connect timeout, a total timeout and a body cap; TLS
 * peer and host verification is on unless the request opts out; redirects
 * are not followed unless asked; only http and https are spoken; no signals,
 * no progress meter, nothing ever written to the terminal. The User-Agent is
 * "overseer/<version>".
 *
 * Callbacks: every request accepted by http_get() gets exactly one callback,
 * with its result — on completion, on failure, after http_cancel(), or when
 * http_close() aborts it. Callbacks never run inside http_get(), http_cancel()
 * or http_close(); they run from the loop. A callback may call http_get(),
 * http_cancel() and http_close().
 *
 * Thread-safety: a `struct http` belongs to its loop's thread. The first
 * http_new() runs curl_global_init() exactly once per process (uv_once), so
 * concurrent first calls from several threads are safe among themselves;
 * libcurl before 7.84 also requires that no other thread be using libcurl
 * at that moment (only this module uses it here). curl_global_cleanup() is
 * never called: it is not thread-safe either, and the process ends anyway
 * (valgrind still reports no leak: OpenSSL frees at exit). */
#ifndef OV_HTTP_H
#define OV_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "errclass.h"
#include "ov.h"

#define HTTP_URL_MAX 2048
#define HTTP_CONTENT_TYPE_MAX 128
#define HTTP_ERROR_MAX 256 /* >= CURL_ERROR_SIZE, checked in http.c */
#define HTTP_BODY_MAX_DEFAULT (64 * 1024)
#define HTTP_BODY_MAX_LIMIT (16 * 1024 * 1024) /* largest cap a request may ask for */
#define HTTP_CONNECT_TIMEOUT_DEFAULT_MS 2000
#define HTTP_TOTAL_TIMEOUT_DEFAULT_MS 5000
#define HTTP_REDIRECTS_LIMIT 5 /* largest max_redirects a request may ask for */
#define HTTP_INFLIGHT_MAX 4096 /* concurrent transfers per struct http */
/* Idle keep-alive connections kept for reuse (CURLMOPT_MAXCONNECTS); the
 * oldest is closed beyond it. Open connections are not limited, per host
 * or in total (CURLMOPT_MAX_HOST_CONNECTIONS and _TOTAL_ stay 0): a limit
 * would make curl queue transfers, and a thousand targets on one host
 * would wait behind each other inside their own timeouts. */
#define HTTP_CONN_CACHE_MAX 256

struct http;

struct http_request {
	const char *url;	    /* http:// or https://, < HTTP_URL_MAX bytes */
	int64_t connect_timeout_ms; /* 0: HTTP_CONNECT_TIMEOUT_DEFAULT_MS */
	int64_t total_timeout_ms;   /* 0: HTTP_TOTAL_TIMEOUT_DEFAULT_MS */
	size_t max_body;	    /* 0: HTTP_BODY_MAX_DEFAULT */
	int max_redirects;	    /* 0: redirects are not followed */
	bool tls_insecure;	    /* true: skip TLS peer and host verification */
};

struct http_result {
	uint64_t id;			 /* as returned by http_get() */
	bool ok;			 /* the transfer completed (whatever the HTTP status) */
	bool cancelled;			 /* http_cancel() or http_close() ended it */
	bool body_too_large;		 /* aborted at the cap; body holds what arrived */
	int curl_code;			 /* CURLcode; CURLE_FILESIZE_EXCEEDED when too large */
	int http_status;		 /* 0 when no response line arrived */
	struct errclass_verdict verdict; /* ERRCLASS_NONE: completed with a status < 400 */
	int64_t latency_us;		 /* CURLINFO_TOTAL_TIME_T; wall time when cancelled */
	/* Both strings pass through sanitize_display() (no control characters)
	 * and are truncated to fit. */
	char content_type[HTTP_CONTENT_TYPE_MAX]; /* "" when absent */
	char error[HTTP_ERROR_MAX];		  /* "" when ok; curl's error text or ours */
	/* Raw bytes, NUL-terminated (an embedded NUL is possible: use body_len);
	 * valid only during the callback. */
	const char *body;
	size_t body_len;
};

typedef void (*http_done_cb)(const struct http_result *res, void *ctx);
typedef void (*http_close_cb)(struct http *h, void *ctx);

/* Create a client on loop. NULL (and err set) when libcurl cannot be
 * initialised or lacks asynchronous DNS. */
struct http *http_new(uv_loop_t *loop, struct ov_error *err);

/* Start a GET. Returns 0 and stores a nonzero request id in *id (id may be
 * NULL), or a negative errno with err set: -EINVAL for a bad request (no URL,
 * URL too long, negative timeout, cap above HTTP_BODY_MAX_LIMIT, too many
 * redirects), -EAGAIN at HTTP_INFLIGHT_MAX transfers, -ESHUTDOWN after
 * http_close(), -ENOMEM. No callback follows a failed call. */
int http_get(struct http *h, const struct http_request *req, http_done_cb cb, void *ctx,
	     uint64_t *id, struct ov_error *err);

/* Stop a transfer now: its connection is closed at once, so the target sees
 * the hang-up. Its callback follows from the loop (never from inside
 * http_cancel) with cancelled = true and class timeout (cancelling is how a
 * caller enforces its own deadline). Returns 0, or -ENOENT when id is not in flight
 * (finished, already cancelled, or never issued). */
int http_cancel(struct http *h, uint64_t id);

/* Transfers started and not yet called back. */
size_t http_in_flight(const struct http *h);

/* Abort every transfer (callbacks follow with cancelled = true, class
 * internal, error "client closed"), release curl, and close every uv handle.
 * cb (may be NULL) runs once all is closed; the memory is freed after it
 * returns. h must not be used after this call, except that callbacks running
 * before cb may still call http_get (refused with -ESHUTDOWN). */
void http_close(struct http *h, http_close_cb cb, void *ctx);

#endif
