/* Self test of scripts/checksrc: SPACECOMMA at 5:19. */
int
f(int a)
{
	return f(a , a);
}
