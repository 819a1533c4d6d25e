// Must not compile: Layer's second argument is an MlpBlock
// expect: Mlp must be a gdn::MlpBlock
#include "gdn/schedule/model.hpp"

using T = gdn::Layer<gdn::DeltaNetBlock<gdn::q8_0>, gdn::DeltaNetBlock<gdn::q8_0>>;
static_assert(sizeof(T) > 0);
