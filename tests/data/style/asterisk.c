/* Self test of scripts/checksrc: ASTERISK at 3:12. */
int
f(const int* p)
{
	return *p;
}
