/* Self test of scripts/checksrc: CPPCOMMENT at 5:23. */
int
f(int a)
{
	return a + 1; // one more
}
