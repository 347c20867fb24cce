/*
 * SNS Publish (lambda/sns.h) over the shared request core (aws_json.c) in
 * the query protocol: the form body is escaped by libcurl, the answer's
 * MessageId read by expat.
 */
#define _POSIX_C_SOURCE 200809L
#include <lambda/sns.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_json.h"

#define MESSAGE_MAX (256 * 1024) /* Message: at most 262144 bytes */
#define SUBJECT_MAX 100          /* Subject: 1..100 printable ASCII characters */
#define TOPIC_MAX 256            /* a topic ARN */

struct lambda_sns_client {
    lambda__aws_service svc;
};

int lambda_sns_client_new(const lambda_sns_config *config, lambda_sns_client **out,
                          lambda_error *err)
{
    static const lambda_sns_config none = {0};
    const lambda_sns_config *c = config ? config : &none;
    *out = NULL;
    lambda_sns_client *client = calloc(1, sizeof *client);
    if (!client) {
        lambda_error_set(err, "InvalidConfiguration", "out of memory");
        return -1;
    }
    lambda__aws_service *svc = &client->svc;
    /* Retry variables as lambda/sfn.h's (LAMBDA_SFN_*), as sns.h says. */
    if (lambda__aws_service_init(svc, "LAMBDA_SFN", "AWS_ENDPOINT_URL_SNS", "sns", c->endpoint,
                                 c->region, c->access_key_id, c->secret_access_key,
                                 c->session_token, err) != 0) {
        free(client);
        return -1;
    }
    strcpy(svc->service, "sns");
    svc->target_prefix[0] = '\0'; /* the query protocol */
    strcpy(svc->content_type, "application/x-www-form-urlencoded; charset=utf-8");
    strcpy(svc->error_prefix, "SNS");
    if (c->ca_file)
        snprintf(svc->ca_file, sizeof svc->ca_file, "%s", c->ca_file);
    *out = client;
    return 0;
}

void lambda_sns_client_free(lambda_sns_client *client)
{
    if (!client)
        return;
    memset(client, 0, sizeof *client);
    free(client);
}

static int check_publish(const char *topic_arn, const char *subject, const char *message,
                         lambda_error *err)
{
    size_t t = topic_arn ? strlen(topic_arn) : 0;
    if (t == 0 || t > TOPIC_MAX || strncmp(topic_arn, "arn:", 4) != 0) {
        lambda_error_set(err, "InvalidInput", "the topic must be a topic ARN (arn:…:sns:…)");
        return -1;
    }
    size_t m = message ? strlen(message) : 0;
    if (m == 0 || m > MESSAGE_MAX) {
        lambda_error_set(err, "InvalidInput", "the message must hold 1..%d bytes (got %zu)",
                         MESSAGE_MAX, m);
        return -1;
    }
    if (subject) {
        size_t n = strlen(subject);
        int printable = n > 0 && n <= SUBJECT_MAX;
        for (size_t i = 0; printable && i < n; i++)
            printable = subject[i] >= 0x20 && subject[i] < 0x7f;
        if (!printable) {
            lambda_error_set(err, "InvalidInput",
                             "the subject must be 1..%d printable ASCII characters", SUBJECT_MAX);
            return -1;
        }
    }
    return 0;
}

/* Appends "&name=<escaped value>" (no '&' first): 0, or -1 out of memory. */
static int add_field(CURL *h, char **body, size_t *len, const char *name, const char *value)
{
    char *escaped = curl_easy_escape(h, value, 0);
    if (!escaped)
        return -1;
    size_t need = *len + strlen(name) + strlen(escaped) + 3;
    char *grown = realloc(*body, need);
    if (!grown) {
        curl_free(escaped);
        return -1;
    }
    *len += (size_t)snprintf(grown + *len, need - *len, "%s%s=%s", *len ? "&" : "", name, escaped);
    *body = grown;
    curl_free(escaped);
    return 0;
}

/* The form body of a Publish request (malloc'd), or NULL. */
static char *publish_body(const char *topic_arn, const char *subject, const char *message)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    char *body = NULL;
    size_t len = 0;
    int rc = add_field(h, &body, &len, "Action", "Publish");
    rc = rc ? rc : add_field(h, &body, &len, "Version", "2010-03-31");
    rc = rc ? rc : add_field(h, &body, &len, "TopicArn", topic_arn);
    if (subject)
        rc = rc ? rc : add_field(h, &body, &len, "Subject", subject);
    rc = rc ? rc : add_field(h, &body, &len, "Message", message);
    curl_easy_cleanup(h);
    if (rc != 0) {
        free(body);
        return NULL;
    }
    return body;
}

int lambda_sns_publish(lambda_sns_client *client, const char *topic_arn, const char *subject,
                       const char *message, char *message_id, size_t message_id_size,
                       lambda_error *err)
{
    if (message_id && message_id_size)
        message_id[0] = '\0';
    if (check_publish(topic_arn, subject, message, err) != 0)
        return -1;
    char *body = publish_body(topic_arn, subject, message);
    if (!body) {
        lambda_error_set(err, "InvalidInput", "out of memory building Publish");
        return -1;
    }
    char *response = NULL;
    int rc = lambda__aws_json_call(&client->svc, "Publish", body, &response, err);
    free(body);
    if (rc == 0 && message_id && message_id_size)
        lambda__aws_xml_text(response, strlen(response), "MessageId", message_id, message_id_size);
    free(response);
    return rc;
}
