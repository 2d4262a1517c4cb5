// cxx: C++ allocations seen through malloc: new of an object, new[] of an array, a std::vector
// that grows, and a std::string; the keys must be these lines, not operator new's.
#include <string>
#include <vector>

struct node {
	long value[8];				// 64 bytes
};

node *one;
int *many;
std::vector<int> *vec;
std::string *str;

int
main()
{
	one = new node();			// tag:new
	many = new int[250];			// tag:new-array
	vec = new std::vector<int>();		// tag:vector
	vec->reserve(1000);			// tag:reserve
	str = new std::string(100, 'x');	// tag:string
	return 0;
}
