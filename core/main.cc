#include <cstdio>

int main() {
  std::printf("sipsd %s\n", SIPSD_VERSION);
  return 0;
}
