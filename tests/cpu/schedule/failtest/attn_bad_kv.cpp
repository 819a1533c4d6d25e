// Must not compile: AttnBlock's KV format is a kv_ tag
// expect: KVQuant must be gdn::kv_f16, kv_q8_0 or kv_q4_0
#include "gdn/schedule/model.hpp"

using T = gdn::AttnBlock<gdn::fa_window<64>, gdn::q8_0>;
static_assert(sizeof(T) > 0);
