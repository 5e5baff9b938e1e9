/* Self test of scripts/checksrc: INDENT at 5:1. */
int
f(int a)
{
        return a;
}
