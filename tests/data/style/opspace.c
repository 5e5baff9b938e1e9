/* Self test of scripts/checksrc: OPSPACE at 7:10. */
int
f(int a)
{
	int b;

	b= a + 1;
	return b;
}
