// Must not compile: UseWHT is wht_on or wht_off, not a bool
// expect: UseWHT must be gdn::wht_on or gdn::wht_off
#include "gdn/schedule/model.hpp"

using T = gdn::DeltaNetBlock<gdn::q8_0, std::true_type>;
static_assert(sizeof(T) > 0);
