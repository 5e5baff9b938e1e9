/* Self test of scripts/checksrc: ELSEPOS at 8:9. */
int
f(int a)
{
	if (a > 0) {
		a--;
	}
	else
		a++;
	return a;
}
