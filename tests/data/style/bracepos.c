/* Self test of scripts/checksrc: BRACEPOS at 6:9. */
int
f(int a)
{
	if (a > 0)
	{
		a--;
	}
	return a;
}
