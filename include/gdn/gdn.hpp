// gdn/gdn.hpp - everything of gdn that builds with a plain C++20 compiler.
#pragma once

#include "gdn/core/config.hpp"
#include "gdn/core/dtype.hpp"
#include "gdn/core/error.hpp"
#include "gdn/core/macros.hpp"
#include "gdn/core/tensor.hpp"
#include "gdn/core/weights.hpp"
