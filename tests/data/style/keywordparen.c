/* Self test of scripts/checksrc: KEYWORDPAREN at 5:9. */
int
f(int a)
{
	if(a)
		return a;
	return 0;
}
