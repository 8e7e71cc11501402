/* SPDX-License-Identifier: MIT */
// header_cxx: the public header compiles as C++ and links from C++.
#include <mapq.h>
#include <cstring>

int main()
{
	mapq_options o;
	mapq_options_init(&o);
	return std::strcmp(mapq_version(), MAPQ_VERSION_STRING) == 0 && o.capacity == 0 ? 0 : 1;
}
