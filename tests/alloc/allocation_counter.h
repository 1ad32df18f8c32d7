// Counts heap allocations made through the global operator new. The binary that links
// allocation_counter.cc replaces operator new for the whole process, which is why these tests
// live in their own binary (alloc_tests) and not among the unit tests.
#pragma once

namespace sipsd::test {

// Counts the allocations made during its lifetime (on any thread).
class AllocationCounter {
 public:
  AllocationCounter();
  ~AllocationCounter();
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;

  long count() const;
};

}  // namespace sipsd::test
