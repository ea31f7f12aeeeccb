// ifstream.cc - reads a file with std::ifstream and getline, the way C++
// programs read charts; prints the number of lines. libstdc++ opens with
// fopen and reads with read(2) on the stream's descriptor.
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	std::ifstream in(argv[1]);
	std::string line;
	int n = 0;

	if (!in)
		return 1;
	while (std::getline(in, line))
		n++;
	std::cout << n << "\n";
	return 0;
}
