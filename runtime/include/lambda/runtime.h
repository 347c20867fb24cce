/*
 * lambda-c: a custom AWS Lambda runtime for functions written in C.
 *
 * This is the runtime's one public header. A program links liblambda-runtime,
 * describes its handlers in a table and calls lambda_run() from main(): the
 * runtime then talks to the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API),
 * routes every invocation to the handler named by _HANDLER, and posts the
 * handler's result or error back.
 *
 * Two handler shapes are offered:
 *   - raw: bytes in, bytes out, shaped after awslabs/aws-lambda-cpp
 *     (lambda_request in; lambda_response_success() or
 *     lambda_response_failure() out);
 *   - JSON: the event is parsed once with cJSON and the handler returns a
 *     cJSON object (or NULL after lambda_error_set()).
 *
 * Everything a handler receives is valid only for the duration of the call.
 *
 * Errors the runtime itself produces (errorType, posted like handler errors):
 *   Runtime.InvalidEvent           the event is not JSON, or holds a \u0000
 *                                  escape (JSON handlers only)
 *   Runtime.NoResponse             a raw handler answered neither success nor
 *                                  failure, or a JSON handler returned NULL
 *                                  without lambda_error_set()
 *   Runtime.HandlerError           a failure whose type was NULL or empty
 *   Runtime.SerializationError     the returned cJSON could not be printed
 *   Runtime.OutOfMemory            a response could not be copied
 *   Function.ResponseSizeTooLarge  the payload exceeds LAMBDA_RESPONSE_LIMIT
 * and at init (posted to /runtime/init/error, then lambda_run returns 1):
 *   Runtime.HandlerNotFound        _HANDLER unset or not in the table
 *   Runtime.InvalidHandlerTable    an entry without a name or without
 *                                  exactly one of json/raw
 *   Runtime.InitError              the init hook failed without a type
 *   Runtime.InvalidConfig          reserved fields of lambda_runtime_config
 *                                  set (a config built for a newer lambda-c)
 *
 * Thread safety. With AWS_LAMBDA_MAX_CONCURRENCY > 1 (Lambda Managed
 * Instances) several invocations run at once, one per worker thread, each
 * with its own Runtime API connection. A handler must then:
 *   - keep per-invocation state on the stack or in its own allocations, and
 *     read invocation facts only from `ctx` / lambda_context_current();
 *   - guard shared state it mutates (caches, counters, connection pools)
 *     with a mutex, or make it per thread (_Thread_local);
 *   - not rely on _X_AMZN_TRACE_ID (the runtime sets it per invocation only
 *     with one worker; use ctx->trace_id) and not call setenv/putenv;
 *   - not use non-reentrant libc calls (strtok, localtime, ...: use the _r
 *     versions).
 * `userdata` is shared by every worker. lambda_log() is safe from any
 * thread (one write(2) per record, so lines never interleave). The init
 * hook runs alone, before any worker; the shutdown hook runs on its own
 * thread while invocations may still be in flight.
 */
#ifndef LAMBDA_RUNTIME_H
#define LAMBDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the library's public functions. The library is built with hidden
 * visibility and its archive holds one object whose other symbols are local,
 * so `nm` of liblambda_runtime.a shows exactly what this header declares. */
#if defined(__GNUC__) || defined(__clang__)
#define LAMBDA_API __attribute__((visibility("default")))
#else
#define LAMBDA_API
#endif

#define LAMBDA_RUNTIME_NAME "lambda-c"
/* The version of this header. lambda_runtime_version() gives the library's,
 * which differs when a program is built against one and linked with another. */
#define LAMBDA_RUNTIME_VERSION_MAJOR 0
#define LAMBDA_RUNTIME_VERSION_MINOR 2
#define LAMBDA_RUNTIME_VERSION_PATCH 0
#define LAMBDA_RUNTIME_VERSION "0.2.0"
/* (major << 16) | (minor << 8) | patch: compare versions with < and >. */
#define LAMBDA_RUNTIME_VERSION_HEX                                                \
    ((LAMBDA_RUNTIME_VERSION_MAJOR << 16) | (LAMBDA_RUNTIME_VERSION_MINOR << 8) | \
     LAMBDA_RUNTIME_VERSION_PATCH)

/* The largest response payload Lambda accepts (synchronous invoke), in bytes.
 * Larger responses are turned into a Function.ResponseSizeTooLarge error by
 * the runtime instead of being rejected by the Runtime API with a bare 413. */
#define LAMBDA_RESPONSE_LIMIT 6291556
/* The largest synchronous Invoke request payload Lambda accepts, in bytes
 * (the emulator refuses larger events as the service does). */
#define LAMBDA_REQUEST_LIMIT 6291456

#if defined(__GNUC__) || defined(__clang__)
#define LAMBDA_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define LAMBDA_PRINTF(fmt_index, first_arg)
#endif

/* The linked library's version: "0.2.0" (LAMBDA_RUNTIME_VERSION when it was
 * built), and the same as LAMBDA_RUNTIME_VERSION_HEX. */
LAMBDA_API const char *lambda_runtime_version(void);
LAMBDA_API unsigned lambda_runtime_version_hex(void);

/* The exit statuses lambda_run() and lambda_run_handler() return (main()
 * returns them; Lambda reports them as "Runtime exited with error: exit
 * status N"). */
typedef enum lambda_exit_code {
    LAMBDA_EXIT_OK = 0,         /* the loop ended without a fault (shutdown) */
    LAMBDA_EXIT_INIT_ERROR = 1, /* bad _HANDLER or handler table, failing init hook,
                                       invalid config, no AWS_LAMBDA_RUNTIME_API */
    LAMBDA_EXIT_API_ERROR = 2   /* the Runtime API stayed unreachable or answered 5xx */
} lambda_exit_code;

/* ------------------------------------------------------------------------ */
/* Context                                                                   */
/* ------------------------------------------------------------------------ */

/* Facts about one invocation, from the Runtime API's /next headers and from
 * the environment Lambda sets. Strings are NUL-terminated; optional ones are
 * NULL when Lambda did not send them. */
typedef struct lambda_context {
    const char *request_id;           /* Lambda-Runtime-Aws-Request-Id */
    const char *invoked_function_arn; /* Lambda-Runtime-Invoked-Function-Arn */
    const char *trace_id;             /* Lambda-Runtime-Trace-Id, or NULL */
    const char *client_context;       /* Lambda-Runtime-Client-Context (JSON), or NULL */
    const char *cognito_identity;     /* Lambda-Runtime-Cognito-Identity (JSON), or NULL */
    const char *tenant_id;            /* Lambda-Runtime-Aws-Tenant-Id, or NULL */
    int64_t deadline_ms;              /* Lambda-Runtime-Deadline-Ms: Unix time in ms */

    const char *function_name;    /* AWS_LAMBDA_FUNCTION_NAME */
    const char *function_version; /* AWS_LAMBDA_FUNCTION_VERSION */
    int memory_limit_mb;          /* AWS_LAMBDA_FUNCTION_MEMORY_SIZE, 0 if unset */
    const char *log_group_name;   /* AWS_LAMBDA_LOG_GROUP_NAME, or NULL */
    const char *log_stream_name;  /* AWS_LAMBDA_LOG_STREAM_NAME, or NULL */
} lambda_context;

/* Milliseconds left before the invocation's deadline (negative once past). */
LAMBDA_API int64_t lambda_remaining_ms(const lambda_context *ctx);

/* The context of the invocation the calling thread is handling, or NULL
 * outside one. Per thread: safe with AWS_LAMBDA_MAX_CONCURRENCY > 1. Lets
 * library code deep below a handler tag its work with the request id. */
LAMBDA_API const lambda_context *lambda_context_current(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

/* An error a handler or hook reports. `type` becomes the errorType that Step
 * Functions matches in Retry/Catch ErrorEquals, so choose it deliberately
 * (e.g. "InvalidInput" for bad events, "StoreUnavailable" for a retryable
 * storage fault). Longer texts are truncated. */
typedef struct lambda_error {
    char type[128];
    char message[1024];
} lambda_error;

/* Fills `err` and returns NULL, so a JSON handler can write
 *     return lambda_error_set(err, "InvalidInput", "bad date '%s'", s);      */
LAMBDA_API void *lambda_error_set(lambda_error *err, const char *type, const char *fmt, ...)
    LAMBDA_PRINTF(3, 4);

/* ------------------------------------------------------------------------ */
/* JSON                                                                      */
/* ------------------------------------------------------------------------ */

/* Non-zero when the JSON text holds a "\u0000" escape. cJSON decodes it into
 * a NUL byte inside a C string, so every string reader would silently see the
 * value cut short there (an id "acme\u0000/../x" would read as "acme"). The
 * runtime therefore refuses such events for JSON handlers
 * (Runtime.InvalidEvent); call this on JSON you parse yourself. Meant for
 * text that parsed as JSON: a backslash then only occurs inside strings. */
LAMBDA_API int lambda_json_has_nul(const char *json, size_t len);

/* ------------------------------------------------------------------------ */
/* Handlers                                                                  */
/* ------------------------------------------------------------------------ */

/* The event as Lambda delivered it. `payload` is NUL-terminated. */
typedef struct lambda_request {
    const char *payload;
    size_t payload_len;
    const lambda_context *context;
} lambda_request;

/* What a raw handler answers; owned by the runtime, one per invocation. */
typedef struct lambda_response lambda_response;

/* Answer with a payload (copied). content_type NULL means application/json. */
LAMBDA_API void lambda_response_success(lambda_response *res, const char *payload, size_t len,
                                        const char *content_type);

/* Answer with an error: posted to /error as
 * {"errorMessage","errorType","stackTrace":[]}. */
LAMBDA_API void lambda_response_failure(lambda_response *res, const char *error_type,
                                        const char *fmt, ...) LAMBDA_PRINTF(3, 4);

/* Raw handler: aws-lambda-cpp's shape. A handler that answers neither
 * success nor failure produces a "Runtime.NoResponse" error. */
typedef void (*lambda_raw_handler_fn)(const lambda_request *req, lambda_response *res,
                                      void *userdata);

/* JSON handler: `event` is the parsed event (an event that is not JSON never
 * reaches the handler: the runtime answers Runtime.InvalidEvent). Return a
 * new cJSON value, which the runtime serialises and frees, or NULL after
 * lambda_error_set(). */
typedef cJSON *(*lambda_json_handler_fn)(const cJSON *event, const lambda_context *ctx,
                                         lambda_error *err, void *userdata);

/* One entry of the handler table. `name` is matched exactly against the
 * _HANDLER environment variable (the function's Handler setting). Set
 * exactly one of `json` and `raw`. */
typedef struct lambda_handler {
    const char *name;
    lambda_json_handler_fn json;
    lambda_raw_handler_fn raw;
    void *userdata;
} lambda_handler;

/* ------------------------------------------------------------------------ */
/* Response streaming                                                        */
/* ------------------------------------------------------------------------ */

/* The most a streamed response may carry, in bytes (200 MiB, Lambda's limit;
 * the prelude of an HTTP stream counts). A write that would pass it fails
 * and the invocation ends with Function.ResponseSizeTooLarge. */
#define LAMBDA_STREAM_LIMIT 209715200

/* A streamed response, owned by the runtime; valid until the handler
 * returns. */
typedef struct lambda_stream lambda_stream;

/* What an HTTP caller (a Function URL in RESPONSE_STREAM mode) gets before
 * the body: sent as Lambda's application/vnd.awslambda.http-integration-
 * response prelude ({"statusCode","headers","cookies"} then 8 NUL bytes).
 * `headers` is "Name", "value", ..., NULL; `cookies` is "k=v; Path=/", ...,
 * NULL; either may be NULL. Copied at once. */
typedef struct lambda_http_prelude {
    int status_code; /* 0 means 200 */
    const char *const *headers;
    const char *const *cookies;
} lambda_http_prelude;

/* The streaming handler shape: a raw handler that, instead of answering
 * with lambda_response_success(), opens a stream on its response and writes
 * to it. The runtime posts the response to the Runtime API as it is written
 * (Lambda-Runtime-Function-Response-Mode: streaming, chunked), so callers of
 * InvokeWithResponseStream or a RESPONSE_STREAM Function URL get the first
 * bytes while the handler is still running. `content_type` NULL means
 * application/octet-stream. Returns NULL when `res` cannot stream (out of
 * memory, or already streaming): the invocation then fails with
 * Runtime.OutOfMemory or Runtime.StreamError. */
LAMBDA_API lambda_stream *lambda_response_stream(lambda_response *res, const char *content_type);

/* The same for HTTP callers: the prelude (status, headers, cookies) goes out
 * first, then what the handler writes is the HTTP body. */
LAMBDA_API lambda_stream *lambda_response_stream_http(lambda_response *res,
                                                      const lambda_http_prelude *prelude);

/* Writes `len` bytes. Memory stays bounded: the runtime buffers at most
 * 64 KiB per stream and the write blocks while the connection is behind.
 * Bytes written are on their way before the call returns, so a handler may
 * sleep between writes. Returns 0, or -1 when the response is over
 * LAMBDA_STREAM_LIMIT or the connection to the Runtime API broke (the
 * caller went away): the handler should stop writing and return; further
 * writes fail at once.
 *
 * Errors: lambda_response_failure() on a streaming response before its first
 * write posts an ordinary error (/error); after it, the error goes out in
 * the HTTP trailers Lambda reads (Lambda-Runtime-Function-Error-Type and a
 * base64 Lambda-Runtime-Function-Error-Body), and the caller sees it after
 * the bytes already sent. */
LAMBDA_API int lambda_stream_write(lambda_stream *stream, const void *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* The runtime loop                                                          */
/* ------------------------------------------------------------------------ */

typedef struct lambda_runtime_config {
    const lambda_handler *handlers;
    size_t handler_count;

    /* Optional. Runs once, before the first /next, with the handler that
     * _HANDLER selected. Returning non-zero (with `err` set) posts
     * /runtime/init/error and ends the process with a non-zero status. */
    int (*init)(const lambda_handler *selected, lambda_error *err);

    /* Optional. Runs once when Lambda shuts the environment down (SIGTERM);
     * it has about 300 ms. When set, the runtime registers an internal no-op
     * extension so that Lambda sends SIGTERM at all. Must be quick. It runs
     * on a dedicated thread (not in a signal handler, so it may call any
     * function) while invocations may still be in flight; the process then
     * ends with _exit(0). */
    void (*shutdown)(void);

    /* Room to grow: later versions add fields here without changing the
     * struct's size or the place of the fields above, so programs built
     * against this header keep working. Leave them zero: start from
     * LAMBDA_RUNTIME_CONFIG_INIT, lambda_runtime_config_init() or a
     * designated initializer. lambda_run() refuses a config whose reserved
     * fields are not zero (Runtime.InvalidConfig): it was built for a newer
     * lambda-c. */
    void *reserved[8];
} lambda_runtime_config;

/* Every field zero (no handlers, no hooks): set the fields you use after. */
#define LAMBDA_RUNTIME_CONFIG_INIT \
    {                              \
        NULL, 0, NULL, NULL,       \
        {                          \
            NULL                   \
        }                          \
    }
LAMBDA_API void lambda_runtime_config_init(lambda_runtime_config *config);

/* Runs the loop until a non-recoverable Runtime API state. Returns the
 * process exit status for main() to return (a lambda_exit_code):
 * LAMBDA_EXIT_INIT_ERROR after an init error (or without
 * AWS_LAMBDA_RUNTIME_API), LAMBDA_EXIT_API_ERROR when the Runtime API stayed unreachable
 * through ~4 s of bounded retries or answered 5xx (the runtime then exits
 * promptly, as the API's specification asks). 400/403/413 on a response are
 * logged with the request id and the loop goes on. A fatal signal in a
 * handler (SEGV, ABRT, BUS, FPE, ILL) writes one line with the signal and
 * request id (plus a backtrace on glibc) to stderr and the process dies by
 * that signal. With AWS_LAMBDA_MAX_CONCURRENCY
 * > 1 (Lambda Managed Instances) that many threads each poll /next: handlers
 * must then be thread-safe (no unguarded globals; the context is per call). */
LAMBDA_API int lambda_run(const lambda_runtime_config *config);

/* aws-lambda-cpp's run_handler: one raw handler for every invocation,
 * whatever _HANDLER says. */
LAMBDA_API int lambda_run_handler(lambda_raw_handler_fn handler, void *userdata);

/* ------------------------------------------------------------------------ */
/* Retries: exponential backoff with jitter                                  */
/* ------------------------------------------------------------------------ */

/* The one retry delay of lambda-c, used by the runtime for the Runtime API,
 * by the report functions' store for S3 and by the AWS clients, and offered
 * to handlers for their own calls. Retry k (0-based) waits about
 * base_ms * 2^k, at most cap_ms, spread by the jitter (AWS Architecture
 * Blog, "Exponential Backoff And Jitter"). A caller-owned value: one per
 * retry loop, not shared between threads. */
typedef enum lambda_backoff_jitter {
    LAMBDA_BACKOFF_NO_JITTER = 0, /* exactly the delay: one client of a local API */
    LAMBDA_BACKOFF_EQUAL_JITTER,  /* half the delay fixed, half random */
    LAMBDA_BACKOFF_FULL_JITTER    /* random in [0, delay] */
} lambda_backoff_jitter;

typedef struct lambda_backoff {
    unsigned attempt;     /* retries already taken */
    unsigned max_retries; /* then lambda_backoff_next_ms() says -1 */
    long base_ms;         /* delay of the first retry (before jitter) */
    long cap_ms;          /* no delay is longer */
    lambda_backoff_jitter jitter;
    unsigned seed;    /* the jitter's state, seeded by lambda_backoff_init (0 without jitter) */
    long reserved[4]; /* room to grow without breaking callers; zeroed */
} lambda_backoff;

/* Sets every field (base_ms and cap_ms at least 1 ms, cap_ms at least
 * base_ms) and, with a jitter, seeds it from the clock, the process and `b`
 * (LAMBDA_BACKOFF_NO_JITTER makes no system call). */
LAMBDA_API void lambda_backoff_init(lambda_backoff *b, unsigned max_retries, long base_ms,
                                    long cap_ms, lambda_backoff_jitter jitter);

/* The delay before the next retry in ms (and counts it), or -1 once
 * max_retries are used up. */
LAMBDA_API long lambda_backoff_next_ms(lambda_backoff *b);

/* Sleeps the next delay (resuming after signals): 0, or -1 without
 * sleeping once the retries are used up. */
LAMBDA_API int lambda_backoff_wait(lambda_backoff *b);

/* ------------------------------------------------------------------------ */
/* Logging                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum lambda_log_level {
    LAMBDA_LOG_TRACE,
    LAMBDA_LOG_DEBUG,
    LAMBDA_LOG_INFO,
    LAMBDA_LOG_WARN,
    LAMBDA_LOG_ERROR,
    LAMBDA_LOG_FATAL
} lambda_log_level;

/* Writes one log record to stderr, tagged with the current invocation's
 * request id. Plain text by default:
 *     2026-11-26T17:00:50.095Z<TAB>request-id<TAB>INFO<TAB>message
 * ("-" outside an invocation; newlines in the message become '\r' so that
 * CloudWatch keeps one record). With AWS_LAMBDA_LOG_FORMAT=JSON, one JSON
 * object per line: {"timestamp","level","message","requestId"} (timestamp in
 * RFC 3339 UTC with milliseconds; requestId only inside an invocation).
 * Records below AWS_LAMBDA_LOG_LEVEL (TRACE DEBUG INFO WARN ERROR FATAL,
 * default INFO) are dropped. Safe from any thread. Never log credentials. */
LAMBDA_API void lambda_log(lambda_log_level level, const char *fmt, ...) LAMBDA_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif

#endif /* LAMBDA_RUNTIME_H */
