// Must not compile: DeltaNetBlock takes a weight format tag
// expect: Quant must be a weight format tag
#include "gdn/schedule/model.hpp"

using T = gdn::DeltaNetBlock<int, gdn::wht_off>;
static_assert(sizeof(T) > 0);
