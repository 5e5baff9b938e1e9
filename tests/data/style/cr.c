/* Self test of scripts/checksrc: CR at 5:18. */
int
f(int a)
{
	return a;
}
