/* Self test of scripts/checksrc: CALLSPACE at 5:19. */
int
f(int a)
{
	return abs (a);
}
