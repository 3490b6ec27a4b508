/* httpd_test.h — a tiny HTTP/1.1 server on 127.0.0.1 for the HTTP client
 * tests. It runs its own libuv loop on its own thread, so the client under
 * test shares nothing with it but the kernel's loopback.
 *
 * Routes (every response closes the connection):
 *   /pass /warn /fail   application/health+json bodies (fail is a 503)
 *   /plain              application/json {"status":"ok"}
 *   /e500 /e503         text/plain errors
 *   /invalid            application/health+json that is not JSON
 *   /html               text/html whose text looks like a failing JSON body
 *   /redirect           302 to /pass
 *   /big                10 MB body, Content-Length declared
 *   /bigstream          10 MB body, no Content-Length (ends at close)
 *   /silent             accepts, reads the request, never answers
 *   /trickle            headers, then one body byte every 100 ms, forever
 *   /keepalive          like /pass, but the connection stays open for reuse
 *   anything else       404 */
#ifndef HTTPD_TEST_H
#define HTTPD_TEST_H

#include <stdbool.h>
#include <stdint.h>

#define HTTPD_BIG_BYTES (10 * 1024 * 1024)
#define HTTPD_UA_MAX 128

struct httpd;

struct httpd_stats {
	int64_t connections;
	int64_t requests;
	int64_t big_bytes_sent;	    /* /big* body bytes the kernel accepted */
	int64_t big_ended;	    /* /big* connections finished either way */
	int64_t big_cut_off;	    /* of those, ended by the peer going away */
	int64_t peer_hangups;	    /* /silent and /trickle peers that went away */
	int64_t trickle_bytes_sent; /* /trickle body bytes the kernel accepted */
	char last_user_agent[HTTPD_UA_MAX];
	char last_accept[HTTPD_UA_MAX];
};

/* Bind 127.0.0.1 on a free port and start serving. NULL on failure. */
struct httpd *httpd_start(void);
uint16_t httpd_port(const struct httpd *d);
/* A consistent copy of the counters (they change on the server thread). */
void httpd_get_stats(struct httpd *d, struct httpd_stats *out);
/* Stop, close every handle, join the thread and free. Returns what
 * uv_loop_close() said: 0 when every handle was closed. */
int httpd_stop(struct httpd *d);

/* A TCP socket bound to 127.0.0.1 and never listening: connecting to *port
 * is refused, and nobody else can take the port while fd is open. Returns
 * the fd (close it when done) or -1. */
int httpd_refusing_socket(uint16_t *port);

/* A listener whose accept queue is full and never drained: the kernel drops
 * further SYNs, so a connect to port hangs until the client gives up. */
struct httpd_blackhole {
	int listen_fd;
	int fillers[2];
	uint16_t port;
};
int httpd_blackhole_open(struct httpd_blackhole *b);
void httpd_blackhole_close(struct httpd_blackhole *b);

#endif
