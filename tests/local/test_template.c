/* Unit tests of lambda-local's configuration loading: template.yaml (Globals,
 * tags, intrinsics, errors) and SAM --env-vars files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "env_vars.h"
#include "function.h"
#include "template.h"

static char *write_temp(const char *text)
{
    char *path = strdup("/tmp/lambda-local-unit-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static const char *var(lambda_local_function *fn, const char *name, int *found)
{
    lambda_local_var *v = lambda_local_function_find_var(fn, name);
    *found = v != NULL;
    return v ? v->value : NULL;
}

static const char TEMPLATE[] = "Parameters:\n"
                               "  Stage: {Type: String, Default: prod}\n"
                               "  NoDefault: {Type: String}\n"
                               "  Seconds: {Type: Number, Default: 45}\n"
                               "Globals:\n"
                               "  Function:\n"
                               "    Handler: global-handler\n"
                               "    Timeout: !Ref Seconds\n"
                               "    MemorySize: 256\n"
                               "    CodeUri: code/\n"
                               "    Environment:\n"
                               "      Variables: {G: g, SHARED: global}\n"
                               "Resources:\n"
                               "  A:\n"
                               "    Type: AWS::Serverless::Function\n"
                               "    Properties:\n"
                               "      Handler: a-handler\n"
                               "      MemorySize: 1024\n"
                               "      Environment:\n"
                               "        Variables:\n"
                               "          SHARED: mine\n"
                               "          STAGE: !Ref Stage\n"
                               "          LONG: {Ref: Stage}\n"
                               "          MISSING: !Ref NoDefault\n"
                               "          SUB: !Sub '${Stage}-x'\n"
                               "          JOIN: {'Fn::Join': ['', [a, b]]}\n"
                               "          ACCOUNT: !Ref AWS::AccountId\n"
                               "  B:\n"
                               "    Type: AWS::Serverless::Function\n"
                               "    Properties:\n"
                               "      CodeUri: /abs/code.zip\n"
                               "      Timeout: !GetAtt Something.Value\n"
                               "  Table:\n"
                               "    Type: AWS::DynamoDB::Table\n";

static void template_globals_and_intrinsics(void **state)
{
    char *path = write_temp(TEMPLATE);
    lambda_local_functions fns = {0};
    char err[512] = "";
    assert_int_equal(lambda_local_template_load(path, &fns, err, sizeof err), 0);
    assert_int_equal(fns.count, 2); /* the table is not a function */

    lambda_local_function *a = lambda_local_functions_find(&fns, "A");
    assert_non_null(a);
    assert_string_equal(a->handler, "a-handler");
    assert_int_equal(a->memory_mb, 1024);
    assert_true(a->timeout_s == 45.0); /* !Ref to a parameter Default, from Globals */
    /* CodeUri from Globals, relative to the template's folder (/tmp). */
    assert_string_equal(a->code_uri, "/tmp/code/");
    int found;
    assert_string_equal(var(a, "G", &found), "g");
    assert_string_equal(var(a, "SHARED", &found), "mine");
    assert_string_equal(var(a, "STAGE", &found), "prod");
    assert_string_equal(var(a, "LONG", &found), "prod");
    assert_string_equal(var(a, "ACCOUNT", &found), "123456789012");
    assert_null(var(a, "MISSING", &found));
    assert_true(found); /* declared, unresolved */
    /* !Sub resolves from parameter Defaults (--parameter-overrides win). */
    assert_string_equal(var(a, "SUB", &found), "prod-x");
    assert_null(var(a, "JOIN", &found));
    assert_true(found);
    assert_null(var(a, "NOPE", &found));
    assert_false(found);

    lambda_local_function *b = lambda_local_functions_find(&fns, "B");
    assert_non_null(b);
    assert_string_equal(b->handler, "global-handler");
    assert_string_equal(b->code_uri, "/abs/code.zip");
    assert_true(b->timeout_s == 3.0); /* unresolved: the default */
    assert_int_equal(b->memory_mb, 256);

    lambda_local_functions_free(&fns);
    unlink(path);
    free(path);
}

static void expect_error(const char *yaml, const char *needle)
{
    char *path = write_temp(yaml);
    lambda_local_functions fns = {0};
    char err[512] = "";
    assert_int_equal(lambda_local_template_load(path, &fns, err, sizeof err), -1);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not contain '%s'", err, needle);
    lambda_local_functions_free(&fns);
    unlink(path);
    free(path);
}

static void template_errors(void **state)
{
    expect_error("Resources: [unclosed\n", "YAML error");
    expect_error("- just\n- a list\n", "not a SAM template");
    expect_error("Description: no resources\n", "no Resources mapping");
    expect_error("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                 "    Properties: {Timeout: soon}\n",
                 "function F: Timeout must be a number");
    expect_error("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                 "    Properties: {Timeout: 901}\n",
                 "Timeout must be a number from 1 to 900");
    expect_error("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                 "    Properties: {MemorySize: 64}\n",
                 "MemorySize must be a number from 128 to 10240");
    expect_error("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                 "    Properties: {Environment: {Variables: [a, b]}}\n",
                 "Environment.Variables must be a mapping");
    expect_error("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                 "    Properties: {Environment: {Variables: {A: [1]}}}\n",
                 "value must be a scalar");
    expect_error("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                 "    Properties: {FunctionUrlConfig: {AuthType: NONE, InvokeMode: STREAM}}\n",
                 "function F: FunctionUrlConfig.InvokeMode must be BUFFERED or RESPONSE_STREAM");
    expect_error("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"
                 "    Properties: {FunctionUrlConfig: {InvokeMode: BUFFERED}}\n",
                 "FunctionUrlConfig.AuthType must be AWS_IAM or NONE");

    char err[256] = "";
    lambda_local_functions fns = {0};
    assert_int_equal(
        lambda_local_template_load("/nonexistent/template.yaml", &fns, err, sizeof err), -1);
    assert_non_null(strstr(err, "No such file"));
}

static void env_vars_sam_format(void **state)
{
    lambda_local_functions fns = {0};
    lambda_local_functions_add(&fns, "A");
    lambda_local_functions_add(&fns, "B"); /* adding moves the list: look up after */
    lambda_local_function *a = lambda_local_functions_find(&fns, "A");
    lambda_local_function *b = lambda_local_functions_find(&fns, "B");
    lambda_local_function_set_var(a, "DECLARED", "template");
    lambda_local_function_set_var(a, "UNRESOLVED", NULL);
    lambda_local_function_set_var(a, "BOTH", "template");
    lambda_local_function_set_var(b, "BOTH", "template");

    char *path = write_temp("{\"Parameters\": {\"BOTH\": \"param\", \"NEW\": 1},"
                            " \"A\": {\"UNRESOLVED\": \"given\", \"BOTH\": true,"
                            " \"OTHER\": \"x\"}}");
    char err[256] = "";
    assert_int_equal(lambda_local_env_vars_apply(path, &fns, true, err, sizeof err), 0);
    int found;
    assert_string_equal(var(a, "DECLARED", &found), "template");
    assert_string_equal(var(a, "UNRESOLVED", &found), "given");
    assert_string_equal(var(a, "BOTH", &found), "true"); /* the function's own wins */
    assert_string_equal(var(b, "BOTH", &found), "param");
    var(a, "NEW", &found);
    assert_false(found); /* declared_only: as SAM */
    var(a, "OTHER", &found);
    assert_false(found);

    /* Direct mode: everything is set. */
    assert_int_equal(lambda_local_env_vars_apply(path, &fns, false, err, sizeof err), 0);
    assert_string_equal(var(a, "NEW", &found), "1");
    assert_string_equal(var(a, "OTHER", &found), "x");
    unlink(path);
    free(path);

    path = write_temp("{\"A\": {\"X\": {\"nested\": 1}}}");
    assert_int_equal(lambda_local_env_vars_apply(path, &fns, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "value of X must be a string, number or boolean"));
    unlink(path);
    free(path);

    path = write_temp("[1, 2]");
    assert_int_equal(lambda_local_env_vars_apply(path, &fns, false, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a JSON object"));
    unlink(path);
    free(path);
    lambda_local_functions_free(&fns);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_globals_and_intrinsics),
        cmocka_unit_test(template_errors),
        cmocka_unit_test(env_vars_sam_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
