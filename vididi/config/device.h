// vididi/config/device.h: the one resolver of the `device` and `precision`
// settings, used by every command and by the trainer: "auto" is cuda:0 when
// a GPU is usable, else the CPU; a GPU asked for and not usable, or a
// precision other than fp32 on the CPU, is refused naming both settings.
// Not here: the backends themselves (core/backend.h).
#pragma once
#include <string>

#include "core/dtype.h"
#include "vididi/config/settings.h"

namespace vd::vididi {

// Resolves and applies (cuda::set_device, set_precision) the settings.
// `note`, when given, receives one line saying what "auto" chose and why.
Device resolve_device(const std::string& device, const std::string& precision, std::string* note = nullptr);

// The `device` and `precision` keys, bound to the caller's strings.
void device_keys(config::Settings& s, std::string& device, std::string& precision);

}  // namespace vd::vididi
