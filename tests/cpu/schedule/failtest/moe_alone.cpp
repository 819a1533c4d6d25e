// Must not compile: an MoeBlock, like an MlpBlock, needs Layer<> to pair it with a mixer
// expect: an MlpBlock alone needs Layer<>
#include "gdn/schedule/model.hpp"

using T = gdn::Model<gdn::MoeBlock<gdn::q8_0>>;
static_assert(sizeof(T) > 0);
