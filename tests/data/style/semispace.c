/* Self test of scripts/checksrc: SEMISPACE at 7:19. */
int
f(int a)
{
	int i, n = 0;

	for (i = 0;i < a; i++)
		n += i;
	return n;
}
