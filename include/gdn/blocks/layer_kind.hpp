// gdn/blocks/layer_kind.hpp - the two mixer kinds of a Qwen3.5-family layer.
#pragma once

#include <cstdint>
#include <string_view>

namespace gdn {

enum class LayerKind : uint8_t { deltanet, attention };

constexpr std::string_view layer_kind_name(LayerKind k) {
    return k == LayerKind::deltanet ? "DeltaNet" : "attention";
}

}  // namespace gdn
