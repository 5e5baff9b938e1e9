/* Self test of scripts/checksrc: LONGLINE at 5:101. */
int
f(int a)
{
	return a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a + a;
}
