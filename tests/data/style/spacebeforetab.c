/* Self test of scripts/checksrc: SPACEBEFORETAB at 5:1. */
int
f(int a)
{
 	return a;
}
