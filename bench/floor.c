/*
 * lambda-bench-floor: a program that does nothing, linked statically with
 * musl. Spawning it and waiting for its exit is the floor for cold start:
 * no runtime can reach its first /next faster than the kernel can exec
 * a static binary.
 */
int main(void)
{
    return 0;
}
