/*
 * lambda::sns — publish a message to an Amazon SNS topic from a C function
 * or program (e.g. to tell an approver that a report waits for them). Not
 * part of the runtime (runtime/ stays free of AWS service clients).
 *
 * Publish goes over HTTPS with SNS's query protocol (a form-encoded
 * Action=Publish body, an XML answer), SigV4-signed (the clients' signer), to
 * AWS_ENDPOINT_URL_SNS, else AWS_ENDPOINT_URL, else
 * https://sns.<region>.amazonaws.com. Credentials, region, retries (throttling,
 * 5xx, transport failures; exponential backoff with full jitter) and their
 * variables are those of lambda/sfn.h's client (the shared request core).
 * A retried Publish may deliver a message twice (SNS has no idempotency key
 * on standard topics): messages should say what they are about, so that a
 * repeat is harmless.
 *
 * Errors (lambda_error.type):
 *   SNS.<Code>        the service refused: NotFound, AuthorizationError,
 *                     InvalidParameter, ... (its message kept)
 *   SNS.Throttled     still throttled after the last attempt
 *   SNS.Unavailable   5xx or transport failures to the last attempt
 *   SNS.TlsError      the server's certificate was not trusted
 *   InvalidConfiguration, InvalidInput  as in lambda/sfn.h
 *
 * Ownership and threads: a client is immutable once created; several
 * threads may use one client at the same time.
 */
#ifndef LAMBDA_SNS_H
#define LAMBDA_SNS_H

#include <stddef.h>

#include <lambda/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lambda_sns_client lambda_sns_client;

/* Every field optional (NULL: the environment or the default). Zero the
 * struct before filling it. */
typedef struct lambda_sns_config {
    const char *endpoint;
    const char *region;
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token;
    const char *ca_file;
    void *reserved[4]; /* room to grow: leave NULL */
} lambda_sns_config;

/* Creates a client: 0, or -1 with err (InvalidConfiguration). `config` may
 * be NULL. */
int lambda_sns_client_new(const lambda_sns_config *config, lambda_sns_client **out,
                          lambda_error *err);
void lambda_sns_client_free(lambda_sns_client *client);

/* Publishes `message` (UTF-8, 1..262144 bytes) to `topic_arn`, with an
 * optional `subject` (NULL, or 1..100 printable ASCII characters). On
 * success, the MessageId SNS gave it goes into message_id (when not NULL;
 * truncated to message_id_size). 0, or -1 with err. */
int lambda_sns_publish(lambda_sns_client *client, const char *topic_arn, const char *subject,
                       const char *message, char *message_id, size_t message_id_size,
                       lambda_error *err);

#ifdef __cplusplus
}
#endif

#endif /* LAMBDA_SNS_H */
