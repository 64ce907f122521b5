// arc internals shared by validation and sealing. Not part of the public interface.
#pragma once

#include "message/message.hpp"

namespace rampart::arc::detail {

/// The i= instance of an ARC field (any of the three), or 0 when it has none that is valid.
[[nodiscard]] int instance_of(const message::Field& field);

}  // namespace rampart::arc::detail
