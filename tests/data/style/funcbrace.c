/* Self test of scripts/checksrc: FUNCBRACE at 3:10. */
int
f(int a) {
	return a;
}
