// Must not compile: the attention window is a power of two >= 16
// expect: N must be a power of two of at least 16
#include "gdn/schedule/model.hpp"

using T = gdn::fa_window<100>;
static_assert(sizeof(T) > 0);
