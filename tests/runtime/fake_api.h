/* fake_api: a scriptable Lambda Runtime API (and Extensions API) server for
 * the runtime's integration tests. libmicrohttpd, loopback, port 0, one
 * thread per connection so /next can long-poll. Unlike the emulator it can
 * inject the faults real Lambda rarely shows: refused connections, resets
 * during /next, 5xx, slow /next, 4xx on /response. */
#ifndef FAKE_API_H
#define FAKE_API_H

#include <stddef.h>
#include <stdint.h>

typedef struct fake_api fake_api;

typedef struct fake_event {
    const char *body;       /* the event (copied) */
    size_t len;             /* 0 = strlen(body) */
    const char *request_id; /* NULL = "req-<n>" */
    int64_t deadline_ms;    /* 0 = now + 60 s */
    const char *arn;        /* NULL = a fixed test ARN */
    const char *trace_id;   /* optional headers: NULL = not sent */
    const char *client_context;
    const char *cognito_identity;
    const char *tenant_id;
    const char *invocation_id;
} fake_event;

typedef enum fake_fault {
    FAKE_FAULT_RESET,  /* close the connection without an answer */
    FAKE_FAULT_STATUS, /* answer with HTTP `param` */
    FAKE_FAULT_SLOW    /* wait `param` ms, then answer normally */
} fake_fault;

/* What the runtime posted for one invocation (or the init error). */
typedef struct fake_result {
    int is_error;    /* posted to /error */
    int status_sent; /* what the fake answered */
    char *request_id;
    char *body; /* NUL-terminated */
    size_t body_len;
    char *error_type;    /* Lambda-Runtime-Function-Error-Type or NULL */
    char *invocation_id; /* Lambda-Runtime-Invocation-Id or NULL */
    char *content_type;
    char *user_agent;
    int had_expect;    /* an Expect header arrived */
    int64_t served_ms; /* when /next handed this invocation out */
    int64_t done_ms;   /* when the post arrived */
    /* Streamed responses: the mode and framing headers, the error
     * trailers, when the first body byte arrived and how many came. The
     * body is kept up to FAKE_BODY_KEEP bytes (body_len), the rest only
     * counted (total_len). */
    char *response_mode;     /* Lambda-Runtime-Function-Response-Mode */
    char *transfer_encoding; /* Transfer-Encoding */
    char *trailer;           /* Trailer (the declaration) */
    char *trailer_error_type;
    char *trailer_error_body; /* base64, as sent */
    int64_t first_byte_ms;
    size_t total_len;
} fake_result;

#define FAKE_BODY_KEEP (16u << 20)

/* Listening on 127.0.0.1, port chosen by the kernel. */
fake_api *fake_api_start(void);
/* Port reserved (bound) but refusing connections until fake_api_listen(). */
fake_api *fake_api_start_refusing(void);
int fake_api_listen(fake_api *f);
int fake_api_port(const fake_api *f);
/* "127.0.0.1:PORT" for AWS_LAMBDA_RUNTIME_API; static per fake. */
const char *fake_api_endpoint(const fake_api *f);
void fake_api_stop(fake_api *f);

/* Queues an invocation; returns its request id (owned by the fake). */
const char *fake_api_push(fake_api *f, const fake_event *ev);
/* Shorthand: body only. */
const char *fake_api_push_body(fake_api *f, const char *body);

/* Faults, consumed one per request in the order given. */
void fake_api_fault_next(fake_api *f, fake_fault kind, int param);
void fake_api_fault_post(fake_api *f, int status);
/* The next streamed post is cut (connection closed) once its first body
 * bytes arrived: what the runtime sees when the caller goes away. */
void fake_api_cut_stream(fake_api *f);
/* Once the queue is empty, /next answers 500 instead of waiting. */
void fake_api_end_with_500(fake_api *f);

/* Waits until `count` results arrived or `timeout_ms` passed; returns how
 * many there are. */
size_t fake_api_wait_results(fake_api *f, size_t count, int timeout_ms);
const fake_result *fake_api_result(fake_api *f, size_t i);
const fake_result *fake_api_result_for(fake_api *f, const char *request_id);
/* The /runtime/init/error post, waiting up to timeout_ms; NULL if none. */
const fake_result *fake_api_wait_init_error(fake_api *f, int timeout_ms);

/* Counters. */
int fake_api_next_calls(fake_api *f);
int fake_api_connections(fake_api *f);
/* Extensions API: registrations seen (name in `name`), event/next calls
 * carrying the identifier handed out. */
int fake_api_ext_registrations(fake_api *f, char *name, size_t size);
int fake_api_ext_next_calls(fake_api *f);
int fake_api_wait_ext_next(fake_api *f, int timeout_ms);

int64_t fake_now_ms(void);

#endif
