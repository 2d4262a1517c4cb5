/*
 * tlsmod: a module with a thread-local variable in the general-dynamic model, which the roots
 * victim dlopens: each thread's copy lives in a dynamic TLS block, malloc'd by glibc on the
 * thread's first use and reached only through the thread's DTV.
 */
__thread void *tlsmod_var;

void **tlsmod_slot(void);

/* Returns the address of the calling thread's tlsmod_var. */
void **
tlsmod_slot(void)
{
	return &tlsmod_var;
}
