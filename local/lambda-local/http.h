/*
 * Small helpers over libmicrohttpd shared by the Runtime API and the Invoke
 * API: request bodies collected across MHD's callbacks, and responses.
 */
#ifndef LAMBDA_LOCAL_HTTP_H
#define LAMBDA_LOCAL_HTTP_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request body; beyond `limit` bytes the rest is counted, not stored. */
typedef struct lambda_local_body {
    char *data;
    size_t len, cap, limit;
    bool too_large;
    bool tracked; /* counted in a tracker */
    /* A streamed upload (stream.c): chunks go to `sink` as they arrive
     * instead of being stored; `sink` returning false sets `aborted` (the
     * handler then drops the connection). `sink_free(sink_arg)` runs when
     * the request ends, however it ends. */
    bool (*sink)(void *arg, const char *data, size_t len);
    void (*sink_free)(void *arg);
    void *sink_arg;
    bool aborted;
} lambda_local_body;

/* Counts requests in progress (from their first callback until MHD has sent
 * the response), so a server can let answered requests drain before it
 * stops: MHD_stop_daemon() drops responses that are queued but unsent. */
typedef struct lambda_local_http_tracker {
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int active;
} lambda_local_http_tracker;

void lambda_local_http_tracker_init(lambda_local_http_tracker *t);
void lambda_local_http_tracker_destroy(lambda_local_http_tracker *t);
/* Waits until no request is in progress, at most `timeout_ms`. */
void lambda_local_http_tracker_wait_idle(lambda_local_http_tracker *t, int timeout_ms);

/* The usual MHD access-handler prologue: allocates the body on the first
 * call, stores upload chunks on the next ones. Returns true when the
 * request is complete and `*body_out` is ready; otherwise the handler must
 * return MHD_YES. */
bool lambda_local_http_collect(void **req_cls, const char *upload_data, size_t *upload_data_size,
                               size_t limit, lambda_local_http_tracker *tracker,
                               lambda_local_body **body_out);

/* Takes the data out of the body (malloc'd, NUL-terminated). */
char *lambda_local_body_take(lambda_local_body *body, size_t *len);

/* MHD_OPTION_NOTIFY_COMPLETED callback freeing the body (cls: the tracker
 * or NULL). */
void lambda_local_http_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                                 enum MHD_RequestTerminationCode toe);

/* Queues a response; takes `body` (malloc'd, may be NULL). `headers` is a
 * NULL-terminated list of name, value pairs (values may be NULL: skipped). */
enum MHD_Result lambda_local_http_send(struct MHD_Connection *conn, unsigned status, char *body,
                                       size_t len, const char *const *headers);

/* A service error in the shape the AWS SDKs parse: x-amzn-ErrorType names
 * the exception, the body {"Type":"User","Message"} carries the message.
 * Shared by the Invoke API and the streaming invoke. */
enum MHD_Result lambda_local_http_service_error(struct MHD_Connection *conn, unsigned status,
                                                const char *type, const char *message);

/* Starts a thread-per-connection daemon on host:port (port 0 = any), so a
 * handler may block (long-poll /next, synchronous invokes). `tracker` may
 * be NULL. */
struct MHD_Daemon *lambda_local_http_start(const char *host, uint16_t port,
                                           MHD_AccessHandlerCallback handler, void *cls,
                                           lambda_local_http_tracker *tracker, uint16_t *bound_port,
                                           char *err, size_t errlen);

#endif
