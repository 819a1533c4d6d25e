// gdn/schedule/ref_decoder.hpp - gdn::ref::Decoder<Model>: the CPU reference run from a
// compile-time model description. It validates the weights against Model (layer kinds,
// projection dtypes, shapes), then decodes with RuntimeDecoder using the Model's per-layer
// WHT flags. The KV cache stays float32 whatever the AttnBlock's KVQuant (the reference is
// the unquantised truth; a GPU test with kv_q8_0/kv_q4_0 states its own tolerance).
#pragma once

#include <utility>

#include "gdn/core/error.hpp"
#include "gdn/core/weights.hpp"
#include "gdn/ref/decoder.hpp"
#include "gdn/schedule/model.hpp"

namespace gdn::ref {

template <class M>
class Decoder : public RuntimeDecoder {
    static_assert(ModelType<M>, "ref::Decoder<M>: M must be a gdn::Model<...>.");

public:
    using model_type = M;

    /// options.wht must be left empty: the Model's DeltaNetBlocks set it.
    Decoder(const ModelWeights& weights, DecoderOptions options = {})
        : RuntimeDecoder(checked(weights), with_model_wht(std::move(options))) {}

private:
    static const ModelWeights& checked(const ModelWeights& w) {
        M::validate(w);
        return w;
    }
    static DecoderOptions with_model_wht(DecoderOptions o) {
        GDN_CHECK(o.wht.empty(), "ref::Decoder<Model>: the WHT flags come from the Model's "
                                 "DeltaNetBlocks, leave DecoderOptions::wht empty");
        o.wht = M::wht_flags();
        return o;
    }
};

}  // namespace gdn::ref
