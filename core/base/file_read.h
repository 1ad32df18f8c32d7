// Reading a small file whole (cfg files, PEM material, key files), refusing what is not a
// regular file or is larger than the caller allows.
#pragma once

#include <cstddef>
#include <string>

#include "core/base/result.h"

namespace sipsd {

// The file's contents. Errors are short and lower-case ("No such file or directory",
// "not a regular file", "file too large") for the caller to prefix with what the file is.
// Opens with O_NONBLOCK, so a FIFO or a device never hangs the caller.
Result<std::string> read_small_file(const std::string& path, size_t max_size);

}  // namespace sipsd
