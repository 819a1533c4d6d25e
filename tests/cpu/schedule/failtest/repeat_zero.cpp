// Must not compile: Repeat needs N > 0
// expect: N must be positive
#include "gdn/schedule/model.hpp"

using T = gdn::Repeat<0, gdn::DeltaNetBlock<gdn::q8_0>>;
static_assert(sizeof(T) > 0);
